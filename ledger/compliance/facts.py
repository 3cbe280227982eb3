"""What the evaluator reads: entry and balance facts, and the time frame of an evaluation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from ledger.compliance.profile import Cutoff, Profile
from ledger.entries.chain import EntryKind
from ledger.errors import ValidationError
from ledger.values.categories import Category
from ledger.values.dates import parse_as_of, today_in_business_tz

ZERO = Decimal("0.0")


CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)


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
REVERSAL = EntryKind.REVERSAL.value


class BalanceFact(NamedTuple):
    """One balance row: a person's net hours of one source, year and category (a named tuple,
    as :class:`EntryFact`: the fast path builds them straight from rows)."""

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
    if as_of is not None:
        try:
            as_of = parse_as_of(as_of)
        except ValueError as exc:
            raise ValidationError({"as_of": [str(exc)]}) from None
    day = as_of or profile.default_as_of or today_in_business_tz()
    year = profile.application_year or day.year
    last = day if profile.cutoff == Cutoff.ON_OR_BEFORE else day - dt.timedelta(days=1)
    return Frame(day, year, profile.window_for(year), last)
