"""Transcripts: every entry of a person with its source and status, and yearly totals.

A transcript is not tied to a rule profile: it answers "what is held for me, and what is in
force", not "what does this notice count". An entry is ``counted``, ``reversed``, ``superseded``
(reversed by a corrected record), a ``duplicate`` (the same completion registered on another
platform, counted once), or a ``reversal`` (the correcting entry itself). Duplicates are found
by the compliance engine's own rule (:func:`ledger.compliance.judgement.judge_entries`), applied
with every source treated alike and every year in the window, so the oldest registration counts.
Which platform is *of record* (R6) depends on the profile and is shown by compliance.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from ledger.compliance.facts import CATEGORIES, ZERO, EntryFact, Frame
from ledger.compliance.judgement import EntryVerdict, ExclusionReason, judge_entries
from ledger.compliance.profile import Cutoff, IndustryManaged, Profile, SourcePolicy
from ledger.db.transactions import read_transaction
from ledger.entries.tables import Entry, Person, Source
from ledger.errors import UnknownPersonError
from ledger.values.dates import today_in_business_tz
from ledger.values.hours import format_hours
from ledger.values.id_numbers import mask_id_number
from ledger.values.reasons import ENTRY_STATUSES

# Every source is given this kind when judging, so that none is preferred over another.
_ANY_SOURCE = "any"


_NEUTRAL_POLICY = SourcePolicy(
    hours_of_record=_ANY_SOURCE, industry_platform=None, industry_managed=IndustryManaged.ON_REQUEST
)


class EntryStatus(enum.StrEnum):
    """Where an entry stands in the transcript (stable codes)."""

    COUNTED = "counted"
    REVERSED = "reversed"
    SUPERSEDED = "superseded"
    DUPLICATE = "duplicate"
    REVERSAL = "reversal"


# (Chinese, English) label of each status, from the one table of labels.
STATUS_LABELS = {status: tuple(ENTRY_STATUSES[status.value]) for status in EntryStatus}


_FROM_REASON = {
    ExclusionReason.REVERSED: EntryStatus.REVERSED,
    ExclusionReason.SUPERSEDED: EntryStatus.SUPERSEDED,
    ExclusionReason.DUPLICATE: EntryStatus.DUPLICATE,
    ExclusionReason.REVERSAL: EntryStatus.REVERSAL,
}


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One ledger entry as the person sees it."""

    entry_id: int
    kind: str
    source_id: str
    source_name: str
    source_kind: str
    external_id: str
    category: str
    hours: Decimal
    completed_on: dt.date
    course_code: str | None
    course_title: str | None
    course_provider: str | None
    status: EntryStatus
    detail: str | None
    related_entry_id: int | None
    reason: str | None = None  # why it was reversed or corrected, as the platform said
    hash: str = ""  # its chain hash (hex): its log leaf is SHA-256(0x00 || these 32 bytes)

    @property
    def year(self) -> int:
        """The year the entry belongs to (its completion date's)."""
        return self.completed_on.year

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (hours as a string)."""
        return {
            "entry_id": self.entry_id,
            "kind": self.kind,
            "source": {"id": self.source_id, "name": self.source_name, "kind": self.source_kind},
            "external_id": self.external_id,
            "category": self.category,
            "hours": format_hours(self.hours),
            "completed_on": self.completed_on.isoformat(),
            "year": self.year,
            "course": {
                "code": self.course_code,
                "title": self.course_title,
                "provider": self.course_provider,
            },
            "status": self.status.value,
            "reason": self.reason,
            "detail": self.detail,
            "related_entry_id": self.related_entry_id,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class Transcript:
    """A person's entries (oldest completion first) and the counted hours per year and
    category. ``head_hash`` and ``entry_count`` name the state of the chain it was read at."""

    person_id: str
    name: str
    id_number_masked: str
    generated_on: dt.date
    entries: tuple[TranscriptEntry, ...]
    totals: dict[int, dict[str, Decimal]]
    head_hash: str | None
    entry_count: int

    @property
    def years(self) -> list[int]:
        """The years with any entry, ascending."""
        return sorted(self.totals)

    def year_total(self, year: int) -> Decimal:
        """Counted hours of a year, all categories."""
        return sum(self.totals.get(year, {}).values(), ZERO)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: hours as strings, dates ISO; the ID number masked."""
        return {
            "person_id": self.person_id,
            "name": self.name,
            "id_number_masked": self.id_number_masked,
            "generated_on": self.generated_on.isoformat(),
            "totals": {
                str(year): {
                    **{c: format_hours(hours) for c, hours in self.totals[year].items()},
                    "total": format_hours(self.year_total(year)),
                }
                for year in self.years
            },
            "entries": [e.to_dict() for e in self.entries],
            "ledger": {"head_hash": self.head_hash, "entry_count": self.entry_count},
        }


def _neutral_profile(years: Sequence[int]) -> Profile:
    return Profile(
        id="transcript",
        version=1,
        title_zh="学时档案",
        title_en="Transcript",
        description=None,
        notice={},
        application_year=None,
        window_years=tuple(years),
        window_offsets=None,
        cutoff=Cutoff.ON_OR_BEFORE,
        default_as_of=None,
        source_policy=_NEUTRAL_POLICY,
        caps=(),
        rules=(),
        digest="",
    )


_COLUMNS = (
    Entry.id,
    Entry.kind,
    Entry.source_id,
    Source.display_name.label("source_name"),
    Source.kind.label("source_kind"),
    Entry.external_id,
    Entry.category,
    Entry.hours,
    Entry.completed_on,
    Entry.course_code,
    Entry.course_title,
    Entry.course_provider,
    Entry.reverses_id,
    Entry.supersedes_id,
    Entry.reason,
    Entry.hash,
)


# A row of _COLUMNS (or the person's columns), read by name.
_Row = Row[*tuple[Any, ...]]


def build_transcript(session: Session, person_id: str) -> Transcript:
    """Read a person's transcript: every entry with its status, and counted totals.

    Raises:
        UnknownPersonError: no such person.
    """
    person, rows = _read(session, person_id)
    today = today_in_business_tz()
    verdicts = _judge(rows, today)
    # A reversal's reason explains the credit it cancels too.
    reasons = {r.reverses_id: r.reason for r in rows if r.reverses_id is not None}
    entries = tuple(
        _transcript_entry(row, verdict, reasons)
        for row, verdict in zip(rows, verdicts, strict=True)
    )
    return Transcript(
        person_id=person_id,
        name=person.name,
        id_number_masked=mask_id_number(person.id_number),
        generated_on=today,
        entries=entries,
        totals=_counted_totals(entries),
        head_hash=person.head_hash,
        entry_count=person.entry_count,
    )


def _read(session: Session, person_id: str) -> tuple[_Row, Sequence[_Row]]:
    """The person and every entry of theirs, oldest completion first, in one snapshot.

    Raises:
        UnknownPersonError: no such person.
    """
    with read_transaction(session):
        person = session.execute(
            select(Person.name, Person.id_number, Person.head_hash, Person.entry_count).where(
                Person.id == person_id
            )
        ).first()
        if person is None:
            raise UnknownPersonError("no such person")
        rows = session.execute(
            select(*_COLUMNS)
            .join(Source, Source.id == Entry.source_id)
            .where(Entry.person_id == person_id)
            .order_by(Entry.completed_on, Entry.id)
        ).all()
    return person, rows


def _judge(rows: Sequence[_Row], today: dt.date) -> list[EntryVerdict]:
    """The compliance engine's verdict on each entry, every source alike and every year in the
    window, nothing after the cut-off: only corrections and cross-platform duplicates keep an
    entry from counting."""
    facts = [
        EntryFact(
            id=r.id,
            kind=r.kind,
            source_id=r.source_id,
            source_kind=_ANY_SOURCE,
            external_id=r.external_id,
            category=r.category,
            hours=r.hours,
            completed_on=r.completed_on,
            course_code=r.course_code,
            course_title=r.course_title,
            reverses_id=r.reverses_id,
            supersedes_id=r.supersedes_id,
            reason=r.reason,
        )
        for r in rows
    ]
    years = sorted({f.year for f in facts})
    frame = Frame(today, today.year, tuple(years), dt.date.max)
    return judge_entries(_neutral_profile(years), frame, facts).verdicts


def _transcript_entry(
    row: _Row, verdict: EntryVerdict, reasons: dict[int, str | None]
) -> TranscriptEntry:
    if verdict.counted:
        status = EntryStatus.COUNTED
    else:
        assert verdict.reason is not None
        status = _FROM_REASON[verdict.reason]
    return TranscriptEntry(
        entry_id=row.id,
        kind=row.kind,
        source_id=row.source_id,
        source_name=row.source_name,
        source_kind=row.source_kind,
        external_id=row.external_id,
        category=row.category,
        hours=row.hours,
        completed_on=row.completed_on,
        course_code=row.course_code,
        course_title=row.course_title,
        course_provider=row.course_provider,
        status=status,
        detail=verdict.detail,
        related_entry_id=verdict.related_entry_id,
        reason=row.reason if row.reverses_id is not None else reasons.get(row.id),
        hash=row.hash,
    )


def _counted_totals(entries: Sequence[TranscriptEntry]) -> dict[int, dict[str, Decimal]]:
    """Counted hours per year (every year with an entry) and category."""
    years = sorted({e.year for e in entries})
    totals: dict[int, dict[str, Decimal]] = {y: dict.fromkeys(CATEGORIES, ZERO) for y in years}
    for e in entries:
        if e.status == EntryStatus.COUNTED:
            totals[e.year][e.category] += e.hours
    return totals
