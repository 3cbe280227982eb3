"""From counted hours to a result: caps, each rule's figures, the evaluation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.compliance.facts import (
    CATEGORIES,
    REVERSAL,
    ZERO,
    EntryFact,
    Frame,
    resolve_frame,
)
from ledger.compliance.judgement import EntryVerdict, Judgement, judge_entries
from ledger.compliance.profile import Per, Profile, Rule, RuleKind
from ledger.values.hours import format_hours


@dataclass(frozen=True, slots=True)
class Check:
    """A rule's figure for one year (``year`` set) or for the whole window."""

    year: int | None
    required: Decimal | None
    actual: Decimal
    shortfall: Decimal
    passed: bool | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (hours as strings)."""
        return {
            "year": self.year,
            "required": _hours_or_none(self.required),
            "actual": format_hours(self.actual),
            "shortfall": format_hours(self.shortfall),
            "passed": self.passed,
        }


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A rule's outcome. For per-year rules ``actual`` is the weakest year's figure and
    ``shortfall`` the sum of every year's shortfall; ``checks`` has each year."""

    rule: Rule
    required: Decimal | None
    actual: Decimal
    shortfall: Decimal
    passed: bool | None  # None: informational, never fails
    checks: tuple[Check, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (hours as strings)."""
        r = self.rule
        return {
            "id": r.id,
            "kind": r.kind,
            "label": {"zh": r.label_zh, "en": r.label_en},
            "categories": [c.value for c in r.categories],
            "per": r.per,
            "required": _hours_or_none(self.required),
            "actual": format_hours(self.actual),
            "shortfall": format_hours(self.shortfall),
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result of evaluating one person against one profile version as of a date.

    ``totals`` are the hours that counted per year and category (after any caps), ``capped``
    the hours a cap held back. ``entries`` and ``counted_entry_ids`` are empty when the
    evaluation was asked for totals only (``explain=False``). ``head_hash`` and
    ``entry_count`` name the state of the person's chain it was computed from.
    """

    person_id: str
    profile_id: str
    profile_version: int
    profile_digest: str
    as_of: dt.date
    application_year: int
    window: tuple[int, ...]
    last_counted_day: dt.date
    industry_platform: bool
    hours_of_record: str
    industry_decided_by: str
    totals: dict[int, dict[str, Decimal]]
    capped: dict[int, dict[str, Decimal]]
    rules: tuple[RuleResult, ...]
    compliant: bool
    entries: tuple[EntryVerdict, ...] = ()
    counted_entry_ids: tuple[int, ...] = ()
    head_hash: str | None = None
    entry_count: int = 0
    basis: str = "entries"

    @property
    def window_totals(self) -> dict[str, Decimal]:
        """Counted hours per category over the whole window, and ``total``."""
        out = {c: sum((self.totals[y][c] for y in self.window), ZERO) for c in CATEGORIES}
        out["total"] = sum((out[c] for c in CATEGORIES), ZERO)
        return out

    def outcome(self) -> dict[str, Any]:
        """The result without the per-entry explanation (what balances and entries agree on)."""
        return {
            "person_id": self.person_id,
            "profile": {
                "id": self.profile_id,
                "version": self.profile_version,
                "digest": self.profile_digest,
            },
            "as_of": self.as_of.isoformat(),
            "application_year": self.application_year,
            "window": list(self.window),
            "last_counted_day": self.last_counted_day.isoformat(),
            "source_policy": {
                "industry_platform": self.industry_platform,
                "industry_decided_by": self.industry_decided_by,
                "hours_of_record": self.hours_of_record,
            },
            "compliant": self.compliant,
            "rules": [r.to_dict() for r in self.rules],
            "totals": {
                str(y): {
                    **{c: format_hours(self.totals[y][c]) for c in CATEGORIES},
                    "total": format_hours(sum(self.totals[y].values(), ZERO)),
                }
                for y in self.window
            },
            "window_totals": {k: format_hours(v) for k, v in self.window_totals.items()},
            "capped": {
                str(y): {c: format_hours(v) for c, v in caps.items()}
                for y, caps in self.capped.items()
                if caps
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: hours as strings, dates ISO."""
        return {
            **self.outcome(),
            "ledger": {"head_hash": self.head_hash, "entry_count": self.entry_count},
            "counted_entry_ids": list(self.counted_entry_ids),
            "entries": [v.to_dict() for v in self.entries],
            "basis": self.basis,
        }


def _hours_or_none(value: Decimal | None) -> str | None:
    return None if value is None else format_hours(value)


def totals_from_sums(
    profile: Profile, frame: Frame, sums: dict[tuple[int, str], Decimal]
) -> tuple[dict[int, dict[str, Decimal]], dict[int, dict[str, Decimal]]]:
    """Counted hours per window year and category after the profile's caps; and what caps held."""
    caps = {c.category.value: c.per_year for c in profile.caps}
    totals: dict[int, dict[str, Decimal]] = {}
    capped: dict[int, dict[str, Decimal]] = {}
    for year in frame.window:
        totals[year] = {}
        capped[year] = {}
        for category in CATEGORIES:
            hours = sums.get((year, category), ZERO)
            limit = caps.get(category)
            if limit is not None and hours > limit:
                capped[year][category] = hours - limit
                hours = limit
            totals[year][category] = hours
    return totals, capped


def judge_rules(
    profile: Profile, frame: Frame, totals: dict[int, dict[str, Decimal]]
) -> tuple[RuleResult, ...]:
    """Each rule's required, actual, shortfall and pass/fail."""
    results = []
    for rule in profile.rules:
        names = [c.value for c in rule.categories]

        def figure(years: Iterable[int], names: list[str] = names) -> Decimal:
            return sum((totals[y][c] for y in years for c in names), ZERO)

        scopes: list[tuple[int | None, Decimal]] = (
            [(y, figure([y])) for y in frame.window]
            if rule.per == Per.YEAR
            else [(None, figure(frame.window))]
        )
        checks = []
        for year, actual in scopes:
            if rule.kind == RuleKind.MINIMUM:
                assert rule.hours is not None
                short = max(ZERO, rule.hours - actual)
                checks.append(Check(year, rule.hours, actual, short, short == 0))
            else:
                checks.append(Check(year, None, actual, ZERO, None))
        results.append(
            RuleResult(
                rule=rule,
                required=rule.hours,
                actual=min(c.actual for c in checks),
                shortfall=sum((c.shortfall for c in checks), ZERO),
                passed=None
                if rule.kind == RuleKind.INFORMATIONAL
                else all(c.passed for c in checks),
                checks=tuple(checks),
            )
        )
    return tuple(results)


def conclude(
    profile: Profile,
    frame: Frame,
    person_id: str,
    judgement: Judgement,
    *,
    explain: bool,
    head: str | None = None,
    count: int = 0,
    basis: str = "entries",
) -> Evaluation:
    """Assemble the :class:`Evaluation` from a judgement."""
    totals, capped = totals_from_sums(profile, frame, judgement.sums)
    rules = judge_rules(profile, frame, totals)
    policy = profile.source_policy
    of_record = policy.industry_platform if judgement.industry else policy.hours_of_record
    assert of_record is not None
    return Evaluation(
        person_id=person_id,
        profile_id=profile.id,
        profile_version=profile.version,
        profile_digest=profile.digest,
        as_of=frame.as_of,
        application_year=frame.application_year,
        window=frame.window,
        last_counted_day=frame.last_day,
        industry_platform=judgement.industry,
        hours_of_record=of_record,
        industry_decided_by=judgement.decided_by,
        totals=totals,
        capped={y: c for y, c in capped.items() if c},
        rules=rules,
        compliant=all(r.passed is not False for r in rules),
        entries=_with_rules(profile, judgement.verdicts) if explain else (),
        counted_entry_ids=tuple(sorted(v.entry.id for v in judgement.verdicts if v.counted))
        if explain
        else (),
        head_hash=head,
        entry_count=count,
        basis=basis,
    )


def rules_by_category(profile: Profile) -> dict[str, tuple[str, ...]]:
    """Category -> the ids of the profile's rules whose figures take its hours, in rule order."""
    return {
        c: tuple(r.id for r in profile.rules if c in {k.value for k in r.categories})
        for c in CATEGORIES
    }


def _with_rules(profile: Profile, verdicts: Sequence[EntryVerdict]) -> tuple[EntryVerdict, ...]:
    """The verdicts, each naming the rules its entry counted toward or would have (the rules an
    exclusion affected); a reversal counts toward none."""
    by_category = rules_by_category(profile)
    return tuple(
        v if v.entry.kind == REVERSAL else v._replace(rules=by_category.get(v.entry.category, ()))
        for v in verdicts
    )


def evaluate_facts(
    profile: Profile,
    as_of: dt.date | None,
    person_id: str,
    entries: Sequence[EntryFact],
    *,
    industry_platform: bool | None = None,
) -> Evaluation:
    """Evaluate from entries alone, in memory (no database)."""
    frame = resolve_frame(profile, as_of)
    judgement = judge_entries(profile, frame, entries, requested_industry=industry_platform)
    return conclude(profile, frame, person_id, judgement, explain=True)
