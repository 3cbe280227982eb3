"""Compliance: evaluate a person's hours against a rule profile as of a date, and explain it.

The evaluation is a pure function of the profile, the as-of date and the person's entries (or,
where the source policy allows, their balances); :func:`evaluate` is the use case that reads
them. Every entry the explanation lists says whether it counted and, if not, why.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, and_, bindparam, case, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from ledger.db import driver_rows, read_transaction, statement_rows
from ledger.entries import EntryKind
from ledger.errors import UnknownPersonError, ValidationError
from ledger.models import Balance, Entry, Person, Source
from ledger.profiles import Cutoff, IndustryManaged, Per, Profile, Rule, RuleKind
from ledger.values import Category, format_hours, today_in_business_tz

ZERO = Decimal("0.0")
CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)


class Reason(enum.StrEnum):
    """Why an entry did not count (stable codes; the explanation text is for people)."""

    REVERSED = "reversed"
    SUPERSEDED = "superseded"
    REVERSAL = "reversal"
    OUTSIDE_WINDOW = "outside_window"
    AFTER_CUTOFF = "after_cutoff"
    DUPLICATE = "duplicate"
    NOT_AUTHORITATIVE = "not_authoritative"


class EntryFact(NamedTuple):
    """What the evaluator needs to know about one ledger entry.

    A named tuple rather than a frozen dataclass: an evaluation builds one per entry of five
    years, and a tuple is several times cheaper to make.
    """

    id: int
    kind: str
    source_id: str
    source_kind: str
    external_id: str
    category: str
    hours: Decimal
    completed_on: dt.date
    course_code: str | None = None
    course_title: str | None = None
    reverses_id: int | None = None
    supersedes_id: int | None = None
    reason: str | None = None

    @property
    def year(self) -> int:
        """The year the entry counts in: its completion date's year (China Standard Time)."""
        return self.completed_on.year


# Plain names for hot loops: looking a member up on an enum class costs more than the
# comparison it is for.
_REVERSAL = EntryKind.REVERSAL.value
_tuple_new = tuple.__new__
_CODE: dict[Reason | None, str | None] = {None: None, **{r: r.value for r in Reason}}


@dataclass(frozen=True, slots=True)
class BalanceFact:
    """One balance row: a person's net hours of one source, year and category."""

    year: int
    category: str
    source_id: str
    source_kind: str
    hours: Decimal


@dataclass(frozen=True, slots=True)
class Frame:
    """The resolved time frame of an evaluation."""

    as_of: dt.date
    application_year: int
    window: tuple[int, ...]
    last_day: dt.date  # the last completion date that counts

    def closed(self, year: int) -> bool:
        """Every day of ``year`` is on or before the cut-off: its balance is final."""
        return dt.date(year, 12, 31) <= self.last_day

    def open(self, year: int) -> bool:
        """Some but not all of ``year`` is on or before the cut-off."""
        return not self.closed(year) and dt.date(year, 1, 1) <= self.last_day


def resolve_frame(profile: Profile, as_of: dt.date | None) -> Frame:
    """The window and cut-off of ``profile`` as of a date (default: the profile's, else today).

    Raises:
        ValidationError: the as-of date is before 1990 (no ledger holds hours from then).
    """
    if as_of is not None and as_of.year < 1990:
        raise ValidationError({"as_of": ["must be a date from 1990 on"]})
    day = as_of or profile.default_as_of or today_in_business_tz()
    year = profile.application_year or day.year
    last = day if profile.cutoff == Cutoff.ON_OR_BEFORE else day - dt.timedelta(days=1)
    return Frame(day, year, profile.window_for(year), last)


# Every entry listed formats its hours; they take few distinct values. (Equal Decimals such as
# 2 and 2.0 format alike, so sharing one cache slot between them is exact.)
_hours_text = functools.lru_cache(maxsize=1024)(format_hours)


class EntryVerdict(NamedTuple):
    """One entry of the explanation: did it count, and if not, why. (A named tuple, as
    :class:`EntryFact`: there is one per entry listed.)"""

    entry: EntryFact
    counted: bool
    reason: Reason | None = None
    detail: str | None = None
    related_entry_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (hours as a string)."""
        e = self.entry
        return {
            "entry_id": e.id,
            "kind": e.kind,
            "source_id": e.source_id,
            "source_kind": e.source_kind,
            "external_id": e.external_id,
            "category": e.category,
            "hours": _hours_text(e.hours),
            "completed_on": e.completed_on.isoformat(),
            "year": e.completed_on.year,
            "course": {"code": e.course_code, "title": e.course_title},
            "counted": self.counted,
            "reason": _CODE[self.reason],
            "detail": self.detail,
            "related_entry_id": self.related_entry_id,
        }


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


# --- the pure evaluation ----------------------------------------------------------------------


def _same_completion(a: EntryFact, b: EntryFact) -> bool:
    """Two entries on different platforms record the same completion (see docs/profiles.md).

    Same completion date, category and hours, and the same course: by code when both carry a
    code, otherwise by title (trimmed, case and inner spaces ignored) when both carry a title.
    Without a course identity on both sides two entries are never taken as the same.
    """
    if (a.completed_on, a.category, a.hours) != (b.completed_on, b.category, b.hours):
        return False
    if a.course_code and b.course_code:
        return a.course_code.strip().casefold() == b.course_code.strip().casefold()
    if a.course_title and b.course_title:
        return _title_key(a.course_title) == _title_key(b.course_title)
    return False


def _title_key(title: str) -> str:
    return "".join(title.split()).casefold()


@dataclass(slots=True)
class Judgement:
    """Verdicts on entries, and the counted hours per (year, category) they add up to."""

    verdicts: list[EntryVerdict] = field(default_factory=list)
    sums: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    industry: bool = False
    decided_by: str = "profile"


def _decided_by(profile: Profile, requested: bool | None) -> str:
    """How the industry-platform question was settled: by the request, or the profile's rule."""
    if profile.source_policy.industry_platform is None:
        return "profile"
    return "request" if requested is not None else profile.source_policy.industry_managed


def _cancelled(entries: Iterable[EntryFact]) -> dict[int, EntryFact]:
    """Credit id -> the reversal entry that cancels it."""
    return {e.reverses_id: e for e in entries if e.reverses_id and e.kind == _REVERSAL}


def decide_industry(
    profile: Profile,
    requested: bool | None,
    has_industry_credit: Callable[[], bool],
) -> bool:
    """R6: is the person's industry managed on the profile's industry platform?

    The caller's explicit answer wins; otherwise, with ``industry_managed: has_entries``, yes
    when the person has a credit from such a platform that would count on date and window
    grounds (not reversed, in the window, on or before the cut-off).
    """
    policy = profile.source_policy
    if policy.industry_platform is None:
        return False
    if requested is not None:
        return requested
    if policy.industry_managed == IndustryManaged.HAS_ENTRIES:
        return has_industry_credit()
    return False


def judge_entries(
    profile: Profile,
    frame: Frame,
    entries: Sequence[EntryFact],
    *,
    requested_industry: bool | None = None,
    superseders: dict[int, int] | None = None,
) -> Judgement:
    """Decide, for every entry, whether it counts; sum what counts per year and category.

    ``superseders`` maps a credit id to the credit that superseded it, for superseding credits
    that ``entries`` does not include (another year).
    """
    window = set(frame.window)
    first, last = min(frame.window), max(frame.window)
    span = str(first) if first == last else f"{first}-{last}"
    outside = Reason.OUTSIDE_WINDOW
    reversal_of = _cancelled(entries)
    superseded_by = dict(superseders or {})
    superseded_by.update({e.supersedes_id: e.id for e in entries if e.supersedes_id})
    verdicts: dict[int, EntryVerdict] = {}
    candidates: list[EntryFact] = []
    # (This loop and the next run once per listed entry: kept lean.)
    last_day = frame.last_day
    for e in entries:
        if e.kind == _REVERSAL:
            verdicts[e.id] = EntryVerdict(
                e, False, Reason.REVERSAL, f"reversal of entry {e.reverses_id}", e.reverses_id
            )
        elif e.id in reversal_of:
            new = superseded_by.get(e.id)
            if new is not None:
                verdicts[e.id] = EntryVerdict(
                    e,
                    False,
                    Reason.SUPERSEDED,
                    f"superseded by entry {new} (corrected record)",
                    new,
                )
            else:
                rev = reversal_of[e.id]
                verdicts[e.id] = EntryVerdict(
                    e, False, Reason.REVERSED, f"reversed by entry {rev.id}: {rev.reason}", rev.id
                )
        elif (day := e.completed_on).year not in window:
            verdicts[e.id] = EntryVerdict(
                e, False, outside, f"completed in {day.year}, outside the window {span}"
            )
        elif day > last_day:
            verdicts[e.id] = EntryVerdict(
                e,
                False,
                Reason.AFTER_CUTOFF,
                f"completed {e.completed_on.isoformat()}, after the cut-off"
                f" (completions up to {frame.last_day.isoformat()} count)",
            )
        else:
            candidates.append(e)

    policy = profile.source_policy
    industry = decide_industry(
        profile,
        requested_industry,
        lambda: any(c.source_kind == policy.industry_platform for c in candidates),
    )
    authority = policy.industry_platform if industry else policy.hours_of_record
    assert authority is not None
    judgement = Judgement(industry=industry, decided_by=_decided_by(profile, requested_industry))
    counted: dict[tuple[dt.date, str, Decimal], list[EntryFact]] = defaultdict(list)
    # Authoritative entries first, oldest first: the first registration of a completion counts.
    for e in sorted(candidates, key=lambda c: (c.source_kind != authority, c.id)):
        bucket = counted[(e.completed_on, e.category, e.hours)]
        twin = None
        for c in bucket:
            if c.source_id != e.source_id and _same_completion(c, e):
                twin = c
                break
        if twin is not None:
            verdicts[e.id] = EntryVerdict(
                e,
                False,
                Reason.DUPLICATE,
                f"same completion as entry {twin.id} on source {twin.source_id}, which counts",
                twin.id,
            )
        elif e.source_kind != authority:
            why = (
                "the person's industry is managed on the industry platform"
                if industry
                else "hours of record are those of the city platform"
                if authority == "city"
                else f"hours of record are those of {authority} platforms"
            )
            verdicts[e.id] = EntryVerdict(
                e,
                False,
                Reason.NOT_AUTHORITATIVE,
                f"source {e.source_id} ({e.source_kind}) is not of record: {why}"
                f" ({authority} hours prevail)",
            )
        else:
            bucket.append(e)
            verdicts[e.id] = EntryVerdict(e, True)
            judgement.sums[(e.completed_on.year, e.category)] += e.hours
    judgement.verdicts = [verdicts[e.id] for e in entries]
    return judgement


def sums_from_balances(
    profile: Profile,
    frame: Frame,
    balances: Sequence[BalanceFact],
    load_entries: Callable[[list[int]], Sequence[EntryFact]],
    *,
    requested_industry: bool | None = None,
) -> Judgement:
    """Counted hours per (year, category) from balances, reading entries only where needed.

    A window year's balances suffice when the whole year is on or before the cut-off and at
    most one source of record has hours in it (so no completion can be on two of them). The
    year of the cut-off, and years where two sources of record overlap, are read from entries.
    Years after the cut-off count nothing. The result equals :func:`judge_entries`'.
    """
    policy = profile.source_policy
    open_years = [y for y in frame.window if frame.open(y)]
    open_entries = load_entries(open_years) if open_years else ()
    open_judgement = judge_entries(
        profile, frame, open_entries, requested_industry=requested_industry
    )

    def has_industry_credit() -> bool:
        # Balance hours above zero mean at least one credit that no reversal cancelled.
        closed = any(
            b.source_kind == policy.industry_platform and b.hours > 0 and frame.closed(b.year)
            for b in balances
        )
        return closed or any(
            v.entry.source_kind == policy.industry_platform
            and v.reason in (None, Reason.DUPLICATE, Reason.NOT_AUTHORITATIVE)
            for v in open_judgement.verdicts
        )

    industry = decide_industry(profile, requested_industry, has_industry_credit)
    authority = policy.industry_platform if industry else policy.hours_of_record
    result = Judgement(industry=industry, decided_by=_decided_by(profile, requested_industry))
    fallback: list[int] = []
    by_year: dict[int, list[BalanceFact]] = defaultdict(list)
    for b in balances:
        if b.source_kind == authority and b.hours != 0:
            by_year[b.year].append(b)
    for year in frame.window:
        if not frame.closed(year):
            continue
        if len({b.source_id for b in by_year[year]}) > 1:
            fallback.append(year)
            continue
        for b in by_year[year]:
            result.sums[(year, b.category)] += b.hours
    years_from_entries = sorted(set(open_years) | set(fallback))
    if years_from_entries:
        entries = load_entries(years_from_entries)
        judged = judge_entries(profile, frame, entries, requested_industry=industry)
        for key, hours in judged.sums.items():
            result.sums[key] += hours
    return result


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
        entries=tuple(judgement.verdicts) if explain else (),
        counted_entry_ids=tuple(sorted(v.entry.id for v in judgement.verdicts if v.counted))
        if explain
        else (),
        head_hash=head,
        entry_count=count,
        basis=basis,
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


# --- the use case -----------------------------------------------------------------------------

_ENTRY_COLUMNS = (
    Entry.id,
    Entry.kind,
    Entry.source_id,
    Source.kind,
    Entry.external_id,
    Entry.category,
    type_coerce(Entry.hours, BigInteger),  # tenths, as stored (see ledger.db.Hours)
    Entry.completed_on,
    Entry.course_code,
    Entry.course_title,
    Entry.reverses_id,
    Entry.supersedes_id,
    Entry.reason,
)


@functools.lru_cache(maxsize=4096)
def _hours(tenths: int) -> Decimal:
    """Stored tenths as hours, exactly as :class:`ledger.db.Hours` reads them (``Decimal("1.5")``
    from 15). People's hours take few distinct values, so most rows hit the memo; Decimals are
    immutable, so sharing them is safe."""
    return Decimal(tenths).scaleb(-1)


# Built once: building a statement costs more than running it on a person's few hundred rows.
_ENTRIES = (
    select(*_ENTRY_COLUMNS)
    .join(Source, Source.id == Entry.source_id)
    .where(
        Entry.person_id == bindparam("person_id"),
        Entry.year.between(bindparam("first"), bindparam("last")),
    )
    .order_by(Entry.id)
)
_SUCCESSOR = aliased(Entry, name="successor")
# Everything an explained evaluation reads, in one statement (one round trip, one snapshot): the
# person's chain head and count on every row, their entries of the years asked for (none: one
# row of nulls), and beside each reversal the credit that superseded what it reversed, if any,
# wherever that credit is (a correction can move a completion to another year). PostgreSQL
# costs the sub-select as if it ran for every row; it must stay cheap to plan, or the estimate
# crosses ``jit_above_cost`` and compiling the plan takes longer than running it.
_EXPLAINED = (
    select(
        Person.head_hash,
        Person.entry_count,
        *_ENTRY_COLUMNS,
        case(
            (
                Entry.reverses_id.is_not(None),
                # A superseding credit is a new version of the same record (same source and
                # external id as the reversal, which copies them from the credit it reverses):
                # found through the partial index of superseding credits (migration 0008), not
                # by scanning the person's entries.
                select(func.max(_SUCCESSOR.id))
                .where(
                    _SUCCESSOR.source_id == Entry.source_id,
                    _SUCCESSOR.external_id == Entry.external_id,
                    _SUCCESSOR.supersedes_id == Entry.reverses_id,
                )
                .scalar_subquery(),
            )
        ),
    )
    .select_from(Person)
    .outerjoin(
        Entry,
        and_(
            Entry.person_id == bindparam("person_id"),
            Entry.year.between(bindparam("first"), bindparam("last")),
        ),
    )
    .outerjoin(Source, Source.id == Entry.source_id)
    .where(Person.id == bindparam("person_id"))
    .order_by(Entry.id)
)
_PERSON = select(Person.head_hash, Person.entry_count).where(Person.id == bindparam("person_id"))
_BALANCES = (
    select(
        Balance.year,
        Balance.category,
        Balance.source_id,
        Source.kind,
        type_coerce(Balance.hours, BigInteger),  # tenths, as stored
    )
    .join(Source, Source.id == Balance.source_id)
    .where(
        Balance.person_id == bindparam("person_id"),
        Balance.year.between(bindparam("first"), bindparam("last")),
    )
)


def _span(years: Iterable[int]) -> dict[str, int]:
    # The statements read a range of years (no IN list: a prebuilt statement runs as it is, see
    # ``driver_rows``); callers keep the years they asked for.
    wanted = list(years)
    return {"first": min(wanted), "last": max(wanted)}


def _load_entries(session: Session, person_id: str, years: Sequence[int]) -> list[EntryFact]:
    # Plain rows through the driver (see ``driver_rows``), not ORM objects: skipping the ORM's
    # and SQLAlchemy's result machinery is a good part of an evaluation's time. Hours come as
    # stored tenths and are turned into Decimal through a small memo (see ``_hours``).
    wanted = set(years)
    rows = driver_rows(session, _ENTRIES, {"person_id": person_id, **_span(wanted)})
    return [
        _tuple_new(EntryFact, (i, k, s, sk, x, c, _hours(t), d, cc, ct, rv, sp, rs))
        for i, k, s, sk, x, c, t, d, cc, ct, rv, sp, rs in rows
        if d.year in wanted
    ]


def _read_explained(
    session: Session, person_id: str, first: int, last: int
) -> tuple[str | None, int, list[EntryFact], dict[int, int]]:
    """The person's head and entry count, their entries of years ``first`` to ``last``, and for
    each reversed credit among them the credit that superseded it (possibly another year's).

    Raises:
        UnknownPersonError: no such person.
    """
    rows = statement_rows(
        session, _EXPLAINED, {"person_id": person_id, "first": first, "last": last}
    )
    if not rows:
        raise UnknownPersonError("no such person")
    head, count = rows[0][0], rows[0][1]
    # tuple.__new__ with every field given: what EntryFact(...) does, without its Python-level
    # constructor (a third of the cost of turning a row into a fact).
    entries = [
        _tuple_new(EntryFact, (i, k, s, sk, x, c, _hours(t), d, cc, ct, rv, sp, rs))
        for _, _, i, k, s, sk, x, c, t, d, cc, ct, rv, sp, rs, _ in rows
        if i is not None
    ]
    # Reversed credit (the reversal's reverses_id) -> the credit that superseded it.
    superseders = {row[12]: row[15] for row in rows if row[15] is not None}
    return head, count, entries, superseders


def ledger_state(session: Session, person_id: str) -> tuple[str | None, int]:
    """The person's chain head and entry count: what an evaluation of them depends on.

    Every entry of a person moves their head, so two evaluations with equal arguments at the
    same head give the same result (callers may cache on it). Read in the caller's transaction
    when one is open, else as a statement of its own (see :func:`ledger.db.statement_rows`).

    Raises:
        UnknownPersonError: no such person.
    """
    rows = statement_rows(session, _PERSON, {"person_id": person_id})
    if not rows:
        raise UnknownPersonError("no such person")
    return rows[0][0], rows[0][1]


def evaluate(
    session: Session,
    person_id: str,
    profile: Profile,
    as_of: dt.date | None = None,
    *,
    industry_platform: bool | None = None,
    explain: bool = True,
) -> Evaluation:
    """Evaluate a person against a profile as of a date (default: the profile's, else today).

    With ``explain`` (the default) every entry of the window years and the year either side is
    listed with its verdict, and the totals come from those entries. Without it only the totals
    and rules are computed, from balances wherever the source policy allows (see
    :func:`sums_from_balances`); both give the same outcome. ``industry_platform`` overrides the
    profile's way of deciding whether the person's industry is managed on the industry platform.

    Reads one snapshot: with the explanation one statement, a transaction of its own (see
    :func:`ledger.db.statement_rows`); without, a read transaction; or the caller's transaction
    when one is open.

    Raises:
        UnknownPersonError: no such person.
        ValidationError: the as-of date is before 1990.
    """
    frame = resolve_frame(profile, as_of)
    if explain:
        # One statement: its own transaction (see ``statement_rows``), or the caller's.
        # Attestations evaluate inside their own, after locking the person's chain, so that
        # nothing is appended between the evaluation and the record of what it counted.
        head, count, entries, superseders = _read_explained(
            session, person_id, min(frame.window) - 1, max(frame.window) + 1
        )
        judgement = judge_entries(
            profile,
            frame,
            entries,
            requested_industry=industry_platform,
            superseders=superseders,
        )
        basis = "entries"
    else:
        context = nullcontext() if session.in_transaction() else read_transaction(session)
        with context:  # several statements, one snapshot
            head, count = ledger_state(session, person_id)
            window = set(frame.window)
            rows = driver_rows(session, _BALANCES, {"person_id": person_id, **_span(window)})
            balances = [BalanceFact(y, c, s, k, _hours(t)) for y, c, s, k, t in rows if y in window]
            judgement = sums_from_balances(
                profile,
                frame,
                balances,
                lambda years: _load_entries(session, person_id, years),
                requested_industry=industry_platform,
            )
            basis = "balances"
    return conclude(
        profile,
        frame,
        person_id,
        judgement,
        explain=explain,
        head=head,
        count=count,
        basis=basis,
    )
