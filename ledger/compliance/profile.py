"""Rule profiles as values: rules, caps, the source policy (R6), the window; and their content."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.values.categories import Category
from ledger.values.hours import format_hours

ALL_CATEGORIES: tuple[Category, ...] = tuple(Category)


# "Public" (公需) in a notice means both public-need categories unless it names one (RULES.md).
CATEGORY_GROUPS: dict[str, tuple[Category, ...]] = {
    "all": ALL_CATEGORIES,
    "public": (Category.INDUSTRY_PUBLIC, Category.GENERAL_PUBLIC),
}


class RuleKind(enum.StrEnum):
    """What a rule does with its figure."""

    MINIMUM = "minimum"  # fails when the hours are below ``hours``
    INFORMATIONAL = "informational"  # reported, never fails (R8: bonus hours)


class Per(enum.StrEnum):
    """Over what a rule's figure is taken."""

    YEAR = "year"  # each year of the window separately; every year must pass
    WINDOW = "window"  # the window's years together


class Cutoff(enum.StrEnum):
    """Which completion dates count relative to the as-of date."""

    ON_OR_BEFORE = "on_or_before"
    BEFORE = "before"


class IndustryManaged(enum.StrEnum):
    """How the evaluator decides that a person's industry is managed on the industry platform."""

    HAS_ENTRIES = "has_entries"  # any counting-eligible credit from such a platform in the window
    ON_REQUEST = "on_request"  # only when the caller says so


@dataclass(frozen=True, slots=True)
class Rule:
    """One requirement (or informational figure) of a profile."""

    id: str
    kind: RuleKind
    categories: tuple[Category, ...]
    of: str  # as written: "all", "public" or a category list joined by "+"
    per: Per
    hours: Decimal | None
    label_zh: str | None = None
    label_en: str | None = None


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``per_year`` hours of ``category`` count in any one year."""

    category: Category
    per_year: Decimal


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """R6: whose hours are of record.

    Hours come from sources of kind ``hours_of_record`` (the city platform), unless the person's
    industry is managed on a platform of kind ``industry_platform``, whose hours then prevail.
    """

    hours_of_record: str  # a source kind (a transcript judges with "any")
    industry_platform: str | None
    industry_managed: IndustryManaged


@dataclass(frozen=True, slots=True)
class Profile:
    """A validated, versioned rule profile. ``digest`` is SHA-256 over :meth:`content`."""

    id: str
    version: int
    title_zh: str
    title_en: str
    description: str | None
    notice: Mapping[str, str]
    application_year: int | None
    window_years: tuple[int, ...] | None  # fixed calendar years, or
    window_offsets: tuple[int, ...] | None  # offsets from the application year
    cutoff: Cutoff
    default_as_of: dt.date | None
    source_policy: SourcePolicy
    caps: tuple[Cap, ...]
    rules: tuple[Rule, ...]
    digest: str
    origin: str | None = None

    @property
    def ref(self) -> str:
        """``id@version``: how a caller names exactly this version."""
        return f"{self.id}@{self.version}"

    def window_for(self, application_year: int) -> tuple[int, ...]:
        """The calendar years of the window for an application year."""
        if self.window_years is not None:
            return self.window_years
        assert self.window_offsets is not None
        return tuple(application_year + offset for offset in self.window_offsets)

    def content(self) -> dict[str, Any]:
        """The profile in normalised form: what the digest covers and what the API shows."""
        return _content(self)

    def summary(self) -> dict[str, Any]:
        """Id, version, digest, title and description (the profile list)."""
        return {
            "id": self.id,
            "version": self.version,
            "digest": self.digest,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "description": self.description,
            "notice": dict(self.notice),
        }


def _content(p: Profile) -> dict[str, Any]:
    window: dict[str, Any] = (
        {"years": list(p.window_years)}
        if p.window_years is not None
        else {"relative": list(p.window_offsets or ())}
    )
    policy: dict[str, Any] = {"hours_of_record": p.source_policy.hours_of_record}
    if p.source_policy.industry_platform is not None:
        policy["industry_platform"] = p.source_policy.industry_platform
        policy["industry_managed"] = p.source_policy.industry_managed
    as_of: dict[str, Any] = {"counts": p.cutoff}
    if p.default_as_of is not None:
        as_of["default"] = p.default_as_of.isoformat()
    rules = []
    for r in p.rules:
        rule: dict[str, Any] = {
            "id": r.id,
            "kind": r.kind,
            "of": r.of,
            "categories": [c.value for c in r.categories],
            "per": r.per,
        }
        if r.hours is not None:
            rule["hours"] = format_hours(r.hours)
        if r.label_zh or r.label_en:
            rule["label"] = {"zh": r.label_zh, "en": r.label_en}
        rules.append(rule)
    document: dict[str, Any] = {
        "id": p.id,
        "version": p.version,
        "title": {"zh": p.title_zh, "en": p.title_en},
        "description": p.description,
        "notice": dict(p.notice),
        "application_year": p.application_year,
        "window": window,
        "as_of": as_of,
        "source_policy": policy,
        "rules": rules,
    }
    if p.caps:
        document["caps"] = [
            {"category": c.category.value, "per_year": format_hours(c.per_year)} for c in p.caps
        ]
    return {k: v for k, v in document.items() if v is not None}
