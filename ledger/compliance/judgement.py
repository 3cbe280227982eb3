"""The pure evaluation: which entries count (R6, duplicates, window, cut-off, corrections)."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from ledger.compliance.facts import REVERSAL, ZERO, BalanceFact, EntryFact, Frame
from ledger.compliance.profile import IndustryManaged, Profile
from ledger.entries.sources import SourceKind
from ledger.values.hours import format_hours


class ExclusionReason(enum.StrEnum):
    """Why an entry did not count (stable codes; the explanation text is for people)."""

    REVERSED = "reversed"
    SUPERSEDED = "superseded"
    REVERSAL = "reversal"
    OUTSIDE_WINDOW = "outside_window"
    AFTER_CUTOFF = "after_cutoff"
    DUPLICATE = "duplicate"
    NOT_AUTHORITATIVE = "not_authoritative"


class IndustryDecidedBy(enum.StrEnum):
    """Who settled the industry-platform question (R6), besides a profile's ``industry_managed``
    rule (:class:`IndustryManaged`, whose words are used when that rule settled it)."""

    PROFILE = "profile"  # the profile names no industry platform: the question does not arise
    REQUEST = "request"  # the caller said whether the person's industry is managed there


_CODE: dict[ExclusionReason | None, str | None] = {
    None: None,
    **{r: r.value for r in ExclusionReason},
}


# Every entry listed formats its hours; they take few distinct values. (Equal Decimals such as
# 2 and 2.0 format alike, so sharing one cache slot between them is exact.)
_hours_text = functools.lru_cache(maxsize=1024)(format_hours)


class EntryVerdict(NamedTuple):
    """One entry of the explanation: did it count, and if not, why. (A named tuple, as
    :class:`EntryFact`: there is one per entry listed.)"""

    entry: EntryFact
    counted: bool
    reason: ExclusionReason | None = None
    detail: str | None = None
    related_entry_id: int | None = None
    # The profile's rules whose figures take the entry's category: those it counted toward, or
    # would have (set by ``results.conclude``; none for a reversal, which counts toward nothing).
    rules: tuple[str, ...] = ()

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
            "rules": list(self.rules),
        }


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
    decided_by: IndustryDecidedBy | IndustryManaged = IndustryDecidedBy.PROFILE


def _decided_by(profile: Profile, requested: bool | None) -> IndustryDecidedBy | IndustryManaged:
    """How the industry-platform question was settled: by the request, or the profile's rule."""
    if profile.source_policy.industry_platform is None:
        return IndustryDecidedBy.PROFILE
    if requested is not None:
        return IndustryDecidedBy.REQUEST
    return profile.source_policy.industry_managed


def _cancelled(entries: Iterable[EntryFact]) -> dict[int, EntryFact]:
    """Credit id -> the reversal entry that cancels it."""
    return {e.reverses_id: e for e in entries if e.reverses_id and e.kind == REVERSAL}


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
    verdicts: dict[int, EntryVerdict] = {}
    candidates = _screen(frame, entries, superseders or {}, verdicts)
    policy = profile.source_policy
    industry = decide_industry(
        profile,
        requested_industry,
        lambda: any(c.source_kind == policy.industry_platform for c in candidates),
    )
    authority = policy.industry_platform if industry else policy.hours_of_record
    assert authority is not None
    judgement = Judgement(industry=industry, decided_by=_decided_by(profile, requested_industry))
    _count_once(candidates, authority, judgement, verdicts)
    judgement.verdicts = [verdicts[e.id] for e in entries]
    return judgement


def _screen(
    frame: Frame,
    entries: Sequence[EntryFact],
    superseders: dict[int, int],
    verdicts: dict[int, EntryVerdict],
) -> list[EntryFact]:
    """Judge what the entries say of themselves: reversals, reversed and superseded credits,
    completions outside the window or after the cut-off. Returns the credits still in the
    running."""
    window = set(frame.window)
    first, last = min(frame.window), max(frame.window)
    span = str(first) if first == last else f"{first}-{last}"
    outside = ExclusionReason.OUTSIDE_WINDOW
    reversal_of = _cancelled(entries)
    superseded_by = dict(superseders)
    superseded_by.update({e.supersedes_id: e.id for e in entries if e.supersedes_id})
    candidates: list[EntryFact] = []
    # (This loop and the one of _count_once run once per listed entry: kept lean.)
    last_day = frame.last_day
    for e in entries:
        if e.kind == REVERSAL:
            verdicts[e.id] = EntryVerdict(
                e,
                False,
                ExclusionReason.REVERSAL,
                f"reversal of entry {e.reverses_id}",
                e.reverses_id,
            )
        elif e.id in reversal_of:
            new = superseded_by.get(e.id)
            if new is not None:
                verdicts[e.id] = EntryVerdict(
                    e,
                    False,
                    ExclusionReason.SUPERSEDED,
                    f"superseded by entry {new} (corrected record)",
                    new,
                )
            else:
                rev = reversal_of[e.id]
                why = f"reversed by entry {rev.id}: {rev.reason}"
                verdicts[e.id] = EntryVerdict(e, False, ExclusionReason.REVERSED, why, rev.id)
        elif (day := e.completed_on).year not in window:
            why = f"completed in {day.year}, outside the window {span}"
            verdicts[e.id] = EntryVerdict(e, False, outside, why)
        elif day > last_day:
            verdicts[e.id] = EntryVerdict(
                e,
                False,
                ExclusionReason.AFTER_CUTOFF,
                f"completed {e.completed_on.isoformat()}, after the cut-off"
                f" (completions up to {frame.last_day.isoformat()} count)",
            )
        else:
            candidates.append(e)
    return candidates


def _count_once(
    candidates: list[EntryFact],
    authority: str,
    judgement: Judgement,
    verdicts: dict[int, EntryVerdict],
) -> None:
    """Count each completion once, from a source of record (R6): the authoritative entries
    first, oldest first, so that the first registration of a completion counts."""
    counted: dict[tuple[dt.date, str, Decimal], list[EntryFact]] = defaultdict(list)
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
                ExclusionReason.DUPLICATE,
                f"same completion as entry {twin.id} on source {twin.source_id}, which counts",
                twin.id,
            )
        elif e.source_kind != authority:
            verdicts[e.id] = EntryVerdict(
                e,
                False,
                ExclusionReason.NOT_AUTHORITATIVE,
                _not_of_record(e, authority, judgement.industry),
            )
        else:
            bucket.append(e)
            verdicts[e.id] = EntryVerdict(e, True)
            judgement.sums[(e.completed_on.year, e.category)] += e.hours


def _not_of_record(e: EntryFact, authority: str, industry: bool) -> str:
    why = (
        "the person's industry is managed on the industry platform"
        if industry
        else "hours of record are those of the city platform"
        if authority == SourceKind.CITY
        else f"hours of record are those of {authority} platforms"
    )
    source = f"source {e.source_id} ({e.source_kind})"
    return f"{source} is not of record: {why} ({authority} hours prevail)"


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
            and v.reason in (None, ExclusionReason.DUPLICATE, ExclusionReason.NOT_AUTHORITATIVE)
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
