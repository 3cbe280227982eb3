"""Writing entries in the caller's transaction: chain positions, ids, inserts, heads, balances.

Appending (:mod:`ledger.entries.append`) and reversing (:mod:`ledger.entries.reversal`) both
put their entries in a :class:`Pending` (which gives each its place in its person's chain) and
write them with :func:`flush`: the entries, the people's new chain heads and the balances, one
statement a table through :mod:`ledger.db.fast`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, cast

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from ledger.db import fast
from ledger.entries.chain import EntryKind, NewEntry, chain_hash, format_timestamp
from ledger.entries.people import new_person_ids
from ledger.entries.records import RecordIn
from ledger.entries.tables import Balance, Entry, Person, Record

ENTRIES = cast(Table, Entry.__table__)
PEOPLE = cast(Table, Person.__table__)
RECORDS = cast(Table, Record.__table__)
BALANCES = cast(Table, Balance.__table__)

APPEND_LOCK = 0x6365_6C6F_6701
"""PostgreSQL advisory lock every append holds, shared, from taking entry ids to its commit: the
log's sequencer takes it alone for an instant to know which ids are settled
(:mod:`ledger.log.sequencer`)."""


def utc_now() -> dt.datetime:
    """Now, in UTC: the ``recorded_at`` of what a transaction appends."""
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class Chain:
    """A person's chain head and entry count, moved by every entry :class:`Pending` adds."""

    person_id: str
    head: str | None
    count: int


class ChainHead(NamedTuple):
    """A ``people`` row's chain columns (read and written by :func:`flush`)."""

    id: str
    head_hash: str | None
    entry_count: int


class PersonRow(NamedTuple):
    """A new ``people`` row."""

    id: str
    id_number: str
    name: str
    head_hash: str | None
    entry_count: int
    created_at: dt.datetime


class EntryRow(NamedTuple):
    """An ``entries`` row, as inserted."""

    id: int
    person_id: str
    seq: int
    kind: str
    source_id: str
    external_id: str
    record_version: int
    category: str
    hours: Decimal
    completed_on: dt.date
    year: int
    course_code: str | None
    course_title: str | None
    course_provider: str | None
    content_digest: str
    reverses_id: int | None
    supersedes_id: int | None
    reason: str | None
    actor: str
    recorded_at: dt.datetime
    prev_hash: str | None
    hash: str


class RecordRow(NamedTuple):
    """A ``records`` row: where a platform record stands now."""

    source_id: str
    external_id: str
    person_id: str
    version: int
    content_digest: str
    entry_id: int
    status: str
    updated_at: dt.datetime


class BalanceKey(NamedTuple):
    """What a balance sums over: one person's hours of one source, year and category."""

    person_id: str
    year: int
    category: str
    source_id: str


class BalanceRow(NamedTuple):
    """A ``balances`` row, or what to add to it."""

    person_id: str
    year: int
    category: str
    source_id: str
    hours: Decimal
    entry_count: int


@dataclass(slots=True)
class _Delta:
    hours: Decimal = Decimal("0.0")
    entries: int = 0


@dataclass(slots=True)
class Pending:
    """Entries to append in this transaction, in order, each given its place in its person's
    chain as it is added; and what they add to balances."""

    recorded_at: dt.datetime
    entries: list[NewEntry] = field(default_factory=list)
    chains: dict[str, Chain] = field(default_factory=dict)
    deltas: dict[BalanceKey, _Delta] = field(default_factory=lambda: defaultdict(_Delta))
    _recorded_at_text: str = ""

    def __post_init__(self) -> None:
        self._recorded_at_text = format_timestamp(self.recorded_at)

    def add(self, chain: Chain, entry: NewEntry) -> NewEntry:
        """Put ``entry`` next in ``chain`` (its sequence number, the hash before it, its own)."""
        chain.count += 1
        entry.person_id = chain.person_id
        entry.seq = chain.count
        entry.prev_hash = chain.head
        entry.recorded_at = self.recorded_at
        entry.hash = chain_hash(entry, self._recorded_at_text)
        chain.head = entry.hash
        self.chains[chain.person_id] = chain
        delta = self.deltas[
            BalanceKey(chain.person_id, entry.year, entry.category, entry.source_id)
        ]
        delta.hours += entry.hours
        delta.entries += 1
        self.entries.append(entry)
        return entry


def credit_of(
    record: RecordIn, source_id: str, *, version: int, actor: str, supersedes: int | None = None
) -> NewEntry:
    """The credit a platform's record becomes (version 1, or the next one when it replaces the
    credit ``supersedes``)."""
    return NewEntry(
        kind=EntryKind.CREDIT,
        source_id=source_id,
        external_id=record.external_id,
        record_version=version,
        category=record.category.value,
        hours=record.hours,
        completed_on=record.completed_on,
        year=record.year,
        course_code=record.course_code,
        course_title=record.course_title,
        course_provider=record.course_provider,
        content_digest=record.digest(),
        actor=actor,
        supersedes_id=supersedes,
    )


def reversal_of(target: Entry, *, reason: str, actor: str) -> NewEntry:
    """The entry that cancels credit ``target``: the same record and hours, negated."""
    return NewEntry(
        kind=EntryKind.REVERSAL,
        source_id=target.source_id,
        external_id=target.external_id,
        record_version=target.record_version,
        category=target.category,
        hours=-target.hours,
        completed_on=target.completed_on,
        year=target.year,
        course_code=target.course_code,
        course_title=target.course_title,
        course_provider=target.course_provider,
        content_digest=target.content_digest,
        actor=actor,
        reverses_id=target.id,
        reason=reason,
    )


def lock_chains(session: Session, person_ids: Iterable[str]) -> dict[str, Chain]:
    """Read (and on PostgreSQL lock, in id order so that writers never deadlock) the chain
    heads of people by id."""
    ids = sorted(set(person_ids))
    heads = fast.lookup_rows(session, PEOPLE, ChainHead, "id", ids, lock=True)
    return {h.id: Chain(h.id, h.head_hash, h.entry_count) for h in heads}


def create_people(session: Session, names: Mapping[str, str], now: dt.datetime) -> dict[str, str]:
    """Create people for ID numbers the ledger does not know yet (``names``: ID number -> name);
    return their new person ids by ID number. Created in ID-number order, so that concurrent
    writers claim new people in one order and never deadlock."""
    numbers = sorted(names)
    rows = [
        PersonRow(pid, number, names[number], None, 0, now)
        for number, pid in zip(numbers, new_person_ids(len(numbers)), strict=True)
    ]
    fast.insert_rows(session, PEOPLE, rows)
    return {row.id_number: row.id for row in rows}


def insert_records(session: Session, rows: list[RecordRow]) -> None:
    """Insert ``records`` rows for records held for the first time."""
    fast.insert_rows(session, RECORDS, rows)


def _allocate_entry_ids(session: Session, n: int) -> list[int]:
    """Reserve ``n`` entry ids, so that entries go in without RETURNING (which would force
    row-at-a-time or statement-building paths that cost more than the insert)."""
    if session.get_bind().dialect.name == "postgresql":
        # The sequence is looked up once per statement, not once per id (MATERIALIZED keeps
        # the planner from folding the lookup into every row). The shared append lock is taken
        # in the same statement, before any id: a row of the join needs the lock's row first.
        return list(
            session.scalars(
                text(
                    "WITH held AS MATERIALIZED"
                    " (SELECT pg_advisory_xact_lock_shared(:lock)::text AS held),"
                    " s AS MATERIALIZED"
                    " (SELECT pg_get_serial_sequence('entries', 'id')::regclass AS name)"
                    " SELECT nextval(s.name) FROM held, s, generate_series(1, :n)"
                ),
                {"n": n, "lock": APPEND_LOCK},
            )
        )
    # SQLite: write transactions hold the database's write lock (BEGIN IMMEDIATE), so nobody
    # else can take these ids before we commit; entries are never deleted, so max(id) only grows.
    start = session.scalar(text("SELECT coalesce(max(id), 0) FROM entries")) or 0
    return list(range(start + 1, start + n + 1))


def flush(session: Session, pending: Pending) -> list[int]:
    """Insert the pending entries (each is given its id), move their people's chain heads and
    add to balances; return the new entry ids, in the order the entries were added."""
    if not pending.entries:
        return []
    ids = _allocate_entry_ids(session, len(pending.entries))
    for entry_id, entry in zip(ids, pending.entries, strict=True):
        entry.id = entry_id
    # The entries go in as they are: a NewEntry has an attribute for each of EntryRow's columns.
    fast.insert_rows(session, ENTRIES, pending.entries, columns=EntryRow._fields)
    heads = [ChainHead(c.person_id, c.head, c.count) for c in pending.chains.values()]
    fast.update_rows(session, PEOPLE, "id", heads)
    balances = [BalanceRow(*key, d.hours, d.entries) for key, d in pending.deltas.items()]
    fast.insert_rows(session, BALANCES, balances, add_on_conflict=("hours", "entry_count"))
    return ids
