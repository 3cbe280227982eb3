"""Rule profiles: versioned CE requirements as data files, strictly validated and digested.

A profile is a YAML (or JSON) document: which years count (the window), up to which date (the
as-of cut-off), which platform's hours are of record (the source policy, R6) and the rules.
Operators add next year's profile as a file; no code changes. ``docs/profiles.md`` explains the
format; :func:`parse_profile` reports every mistake at once, each with its path in the file.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ledger.canonical import sha256_hex
from ledger.compliance.profile import (
    ALL_CATEGORIES,
    CATEGORY_GROUPS,
    Cap,
    Cutoff,
    IndustryManaged,
    Per,
    Profile,
    Rule,
    RuleKind,
    SourcePolicy,
)
from ledger.entries.sources import SourceKind
from ledger.errors import ProfileError
from ledger.values.categories import Category, parse_category
from ledger.values.dates import EARLIEST_YEAR, LATEST_YEAR, parse_as_of
from ledger.values.hours import parse_rule_hours

PLACEHOLDER = "TODO"


# The closed sets a profile chooses from (rule kinds, categories, source kinds...).
_Word = TypeVar("_Word", bound=enum.StrEnum)


_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")


_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML with two fixes: decimals stay exact, and a repeated key is an error."""


def _decimal_constructor(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # Hours must never pass through a binary float: keep the text YAML saw, as a Decimal.
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


def _mapping_constructor(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _decimal_constructor)
_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_constructor,
)


def load_document(text: str, *, origin: str = "<text>") -> Any:
    """Parse YAML (JSON is YAML too) into plain values, decimals kept exact.

    Raises:
        ProfileError: the text is not well-formed YAML, or repeats a key.
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError({"_file": [f"{origin} is not valid YAML{where}: {problem}"]}) from None


def load_profile_file(path: str | os.PathLike[str]) -> Profile:
    """Load and validate one profile file.

    Raises:
        ProfileError: listing every mistake with its path (``rules[1].hours``).
        OSError: the file cannot be read.
    """
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    return parse_profile(load_document(text, origin=file.name), origin=str(file))


class _Check:
    """Collects every mistake, keyed by path, instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.unfilled: set[str] = set()

    def add(self, path: str, message: str) -> None:
        # A template placeholder explains itself; a second complaint about its shape is noise.
        if path in self.unfilled:
            return
        self.errors.setdefault(path or "_profile", []).append(message)

    def mapping(
        self,
        value: Any,
        path: str,
        *,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, "must be a mapping (key: value lines)")
            return None
        required, optional = tuple(required), tuple(optional)
        for key in required:
            if key not in value or value[key] is None:
                self.add(_join(path, key), "is required")
        known = set(required) | set(optional)
        for key in value:
            if key not in known:
                allowed = ", ".join(sorted(known))
                self.add(_join(path, str(key)), f"is not a known field (known: {allowed})")
        return value

    def text(self, value: Any, path: str, *, limit: int = 500) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(path, "must be a non-empty text")
            return None
        if len(value) > limit:
            self.add(path, f"must be at most {limit} characters")
            return None
        return value.strip()

    def integer(self, value: Any, path: str, *, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "must be a whole number")
            return None
        if not low <= value <= high:
            self.add(path, f"must be between {low} and {high}")
            return None
        return value

    def hours(self, value: Any, path: str) -> Decimal | None:
        if value is None:
            return None
        try:
            return parse_rule_hours(value)
        except ValueError as exc:
            self.add(path, str(exc))
            return None

    def choice(self, value: Any, path: str, allowed: type[_Word]) -> _Word | None:
        if value is None:
            return None
        words = [word.value for word in allowed]
        if value not in words:
            self.add(path, f"must be one of {', '.join(words)}")
            return None
        return allowed(value)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _placeholders(value: Any, path: str, check: _Check) -> None:
    """A template's ``TODO`` values must all be filled in before it is a profile."""
    if isinstance(value, str) and PLACEHOLDER in value:
        check.add(path, f"still holds the template placeholder {PLACEHOLDER}: fill it in")
        check.unfilled.add(path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _placeholders(item, _join(path, str(key)), check)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _placeholders(item, _join(path, i), check)


def parse_profile(document: Any, *, origin: str | None = None) -> Profile:
    """Validate a profile document (as loaded from YAML or JSON) and build the :class:`Profile`.

    Raises:
        ProfileError: listing every mistake, keyed by its path in the document.
    """
    check = _Check()
    _placeholders(document, "", check)
    doc = check.mapping(
        document,
        "",
        required=("id", "version", "title", "notice", "window", "source_policy", "rules"),
        optional=("description", "application_year", "as_of", "caps"),
    )
    if doc is None:
        raise ProfileError(check.errors)

    profile_id = _profile_id(doc.get("id"), check)
    version = check.integer(doc.get("version"), "version", low=1, high=1_000_000)

    title_zh, title_en = _title(doc.get("title"), check)
    description = check.text(doc.get("description"), "description", limit=2000)
    notice = _notice(doc.get("notice"), check)
    application_year = check.integer(
        doc.get("application_year"), "application_year", low=EARLIEST_YEAR, high=LATEST_YEAR
    )
    window_years, window_offsets = _window(doc.get("window"), check)
    cutoff, default_as_of = _as_of(doc.get("as_of"), check)
    policy = _source_policy(doc.get("source_policy"), check)
    caps = _caps(doc.get("caps"), check)
    rules = _rules(doc.get("rules"), check)

    if check.errors:
        raise ProfileError(check.errors)
    assert isinstance(profile_id, str)
    assert version is not None
    assert policy is not None
    assert title_zh is not None
    assert title_en is not None
    profile = Profile(
        id=profile_id,
        version=version,
        title_zh=title_zh,
        title_en=title_en,
        description=description,
        notice=notice,
        application_year=application_year,
        window_years=window_years,
        window_offsets=window_offsets,
        cutoff=cutoff,
        default_as_of=default_as_of,
        source_policy=policy,
        caps=caps,
        rules=rules,
        digest="",
        origin=origin,
    )
    return _with_digest(profile)


def _profile_id(value: Any, check: _Check) -> str | None:
    if value is not None and (not isinstance(value, str) or not _ID.fullmatch(value)):
        check.add("id", "must be 2-64 lower-case letters, digits or hyphens, e.g. r1-annual-90")
        return None
    return value


def _title(value: Any, check: _Check) -> tuple[str | None, str | None]:
    if value is None or check.mapping(value, "title", required=("zh", "en")) is None:
        return None, None
    return (
        check.text(value.get("zh"), "title.zh", limit=200),
        check.text(value.get("en"), "title.en", limit=200),
    )


_NOTICE_KEYS = ("document", "seed", "clause", "url", "issued")


def _notice(value: Any, check: _Check) -> dict[str, str]:
    notice: dict[str, str] = {}
    if value is None or not check.mapping(
        value, "notice", required=_NOTICE_KEYS[:1], optional=_NOTICE_KEYS[1:]
    ):
        return notice
    for key in _NOTICE_KEYS:
        item = value.get(key)
        if isinstance(item, dt.date):
            item = item.isoformat()
        text = check.text(item, f"notice.{key}")
        if text is not None:
            notice[key] = text
    return notice


def _with_digest(profile: Profile) -> Profile:
    return replace(profile, digest=sha256_hex(profile.content()))


def _years(value: Any, path: str, check: _Check, *, low: int, high: int) -> tuple[int, ...] | None:
    if not isinstance(value, list) or not value:
        check.add(path, "must be a non-empty list of years")
        return None
    years = [check.integer(v, _join(path, i), low=low, high=high) for i, v in enumerate(value)]
    if any(y is None for y in years):
        return None
    clean = [y for y in years if y is not None]
    if len(set(clean)) != len(clean):
        check.add(path, "lists a year twice")
        return None
    if len(clean) > 20:
        check.add(path, "may list at most 20 years")
        return None
    return tuple(sorted(clean))


def _window(value: Any, check: _Check) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    raw = check.mapping(value, "window", optional=("years", "relative")) if value else None
    if value is None:
        return None, None
    if raw is None:
        return None, None
    if ("years" in raw) == ("relative" in raw):
        check.add("window", "give exactly one of years (calendar years) or relative (offsets)")
        return None, None
    if "years" in raw:
        years = _years(raw["years"], "window.years", check, low=EARLIEST_YEAR, high=LATEST_YEAR)
        return years, None
    offsets = _years(raw["relative"], "window.relative", check, low=-20, high=1)
    return None, offsets


def _as_of(value: Any, check: _Check) -> tuple[Cutoff, dt.date | None]:
    if value is None:
        return Cutoff.ON_OR_BEFORE, None
    raw = check.mapping(value, "as_of", optional=("counts", "default"))
    if raw is None:
        return Cutoff.ON_OR_BEFORE, None
    cutoff = check.choice(raw.get("counts"), "as_of.counts", Cutoff)
    default = raw.get("default")
    if default is not None:
        try:
            default = parse_as_of(default)
        except ValueError as exc:
            check.add("as_of.default", str(exc))
            default = None
    return cutoff or Cutoff.ON_OR_BEFORE, default


def _source_policy(value: Any, check: _Check) -> SourcePolicy | None:
    if value is None:
        return None
    raw = check.mapping(
        value,
        "source_policy",
        required=("hours_of_record",),
        optional=("industry_platform", "industry_managed"),
    )
    if raw is None:
        return None
    of_record = check.choice(
        raw.get("hours_of_record"), "source_policy.hours_of_record", SourceKind
    )
    industry = check.choice(
        raw.get("industry_platform"), "source_policy.industry_platform", SourceKind
    )
    managed = check.choice(
        raw.get("industry_managed"),
        "source_policy.industry_managed",
        IndustryManaged,
    )
    if industry is not None and industry == of_record:
        check.add("source_policy.industry_platform", "must differ from hours_of_record")
    if industry is None and raw.get("industry_managed") is not None:
        check.add("source_policy.industry_managed", "only makes sense with industry_platform")
    if industry is not None and raw.get("industry_managed") is None:
        check.add(
            "source_policy.industry_managed",
            "is required with industry_platform (has_entries or on_request)",
        )
    if of_record is None:
        return None
    return SourcePolicy(of_record, industry, managed or IndustryManaged.ON_REQUEST)


def _categories(value: Any, path: str, check: _Check) -> tuple[str, tuple[Category, ...]] | None:
    names = [c.value for c in Category]
    if isinstance(value, str) and value in CATEGORY_GROUPS:
        return value, CATEGORY_GROUPS[value]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        check.add(
            path, f"must be all, public, a category or a list of categories ({', '.join(names)})"
        )
        return None
    found: list[Category] = []
    for i, item in enumerate(items):
        where = path if isinstance(value, str) else _join(path, i)
        try:
            category = parse_category(item)
        except ValueError:
            check.add(where, f"must be one of {', '.join(names)} (or all / public for the list)")
            return None
        if category in found:
            check.add(where, "is listed twice")
            return None
        found.append(category)
    ordered = tuple(c for c in ALL_CATEGORIES if c in found)
    return "+".join(c.value for c in ordered), ordered


def _caps(value: Any, check: _Check) -> tuple[Cap, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        check.add("caps", "must be a list")
        return ()
    caps: list[Cap] = []
    for i, raw in enumerate(value):
        path = _join("caps", i)
        if check.mapping(raw, path, required=("category", "per_year")) is None:
            continue
        category = check.choice(raw.get("category"), f"{path}.category", Category)
        limit = check.hours(raw.get("per_year"), f"{path}.per_year")
        if category is None or limit is None:
            continue
        if any(c.category == category for c in caps):
            check.add(f"{path}.category", "has a cap already")
            continue
        caps.append(Cap(Category(category), limit))
    return tuple(caps)


def _rules(value: Any, check: _Check) -> tuple[Rule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        check.add("rules", "must be a non-empty list of rules")
        return ()
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(value):
        path = _join("rules", i)
        if (
            check.mapping(
                raw, path, required=("id", "kind", "of", "per"), optional=("hours", "label")
            )
            is None
        ):
            continue
        rule_id = raw.get("id")
        if rule_id is not None and (
            not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id)
        ):
            check.add(f"{path}.id", "must be lower-case letters, digits, _ or -")
            rule_id = None
        elif rule_id in seen:
            check.add(f"{path}.id", f"{rule_id!r} is used by an earlier rule")
            rule_id = None
        kind = check.choice(raw.get("kind"), f"{path}.kind", RuleKind)
        per = check.choice(raw.get("per"), f"{path}.per", Per)
        of = _categories(raw.get("of"), f"{path}.of", check) if raw.get("of") is not None else None
        hours = check.hours(raw.get("hours"), f"{path}.hours")
        if kind == RuleKind.MINIMUM and raw.get("hours") is None:
            check.add(f"{path}.hours", "is required for a minimum rule")
        if kind == RuleKind.INFORMATIONAL and raw.get("hours") is not None:
            check.add(f"{path}.hours", "an informational rule has no required hours")
        label_zh = label_en = None
        label = raw.get("label")
        if label is not None and check.mapping(label, f"{path}.label", optional=("zh", "en")):
            label_zh = check.text(label.get("zh"), f"{path}.label.zh", limit=200)
            label_en = check.text(label.get("en"), f"{path}.label.en", limit=200)
        if rule_id is None or kind is None or per is None or of is None:
            continue
        seen.add(rule_id)
        rules.append(Rule(rule_id, kind, of[1], of[0], per, hours, label_zh, label_en))
    return tuple(rules)
