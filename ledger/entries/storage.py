"""Writing entries in the caller's transaction: chain positions, ids, inserts, heads, balances."""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from ledger.db.fast import (
    dialect_of,
    insert_rows,
    rows_by_keys,
    stored_date,
    stored_timestamp,
    update_rows,
)
from ledger.entries.chain import EntryKind, chain_hash, format_timestamp
from ledger.entries.records import RecordIn
from ledger.entries.tables import Balance, Entry, Person, Record


@dataclass(slots=True)
class Chain:
    person_id: str
    head: str | None
    count: int


@dataclass(slots=True)
class Pending:
    """Entries to append in this transaction, in order, with their chain positions assigned."""

    recorded_at: dt.datetime
    recorded_at_text: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    deltas: dict[tuple[str, int, str, str], list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [Decimal("0.0"), 0])
    )
    chains: dict[str, Chain] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recorded_at_text = format_timestamp(self.recorded_at)

    def add(self, chain: Chain, row: dict[str, Any]) -> int:
        chain.count += 1
        row["person_id"] = chain.person_id
        row["seq"] = chain.count
        row["prev_hash"] = chain.head
        row["recorded_at"] = self.recorded_at
        row["hash"] = chain_hash(row, self.recorded_at_text)
        chain.head = row["hash"]
        self.chains[chain.person_id] = chain
        key = (chain.person_id, row["year"], row["category"], row["source_id"])
        self.deltas[key][0] += row["hours"]
        self.deltas[key][1] += 1
        self.rows.append(row)
        return len(self.rows) - 1


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def credit_row(record: RecordIn, source_id: str, version: int, actor: str) -> dict[str, Any]:
    return {
        "kind": EntryKind.CREDIT.value,
        "source_id": source_id,
        "external_id": record.external_id,
        "record_version": version,
        "category": record.category.value,
        "hours": record.hours,
        "completed_on": record.completed_on,
        "year": record.year,
        "course_code": record.course_code,
        "course_title": record.course_title,
        "course_provider": record.course_provider,
        "content_digest": record.digest(),
        "reverses_id": None,
        "supersedes_id": None,
        "reason": None,
        "actor": actor,
    }


def reversal_row(target: Entry, reason: str, actor: str) -> dict[str, Any]:
    return {
        "kind": EntryKind.REVERSAL.value,
        "source_id": target.source_id,
        "external_id": target.external_id,
        "record_version": target.record_version,
        "category": target.category,
        "hours": -target.hours,
        "completed_on": target.completed_on,
        "year": target.year,
        "course_code": target.course_code,
        "course_title": target.course_title,
        "course_provider": target.course_provider,
        "content_digest": target.content_digest,
        "reverses_id": target.id,
        "supersedes_id": None,
        "reason": reason,
        "actor": actor,
    }


def lock_people(session: Session, person_ids: Iterable[str]) -> dict[str, Chain]:
    """Load (and on PostgreSQL lock, in id order to avoid deadlocks) the chain heads."""
    ids = sorted(set(person_ids))
    rows = rows_by_keys(session, PEOPLE, ("id", "head_hash", "entry_count"), "id", ids, lock=True)
    return {pid: Chain(pid, head, count) for pid, head, count in rows}


_ENTRIES = cast(Table, Entry.__table__)


PEOPLE = cast(Table, Person.__table__)


RECORDS = cast(Table, Record.__table__)


_BALANCES = cast(Table, Balance.__table__)


_ENTRY_COLUMNS = tuple(c.name for c in _ENTRIES.columns)


_RECORD_COLUMNS = tuple(c.name for c in RECORDS.columns)


_PERSON_COLUMNS = tuple(c.name for c in PEOPLE.columns)


_BALANCE_COLUMNS = ("person_id", "year", "category", "source_id", "hours", "entry_count")


_ADD_TO_BALANCE = (
    " ON CONFLICT (person_id, year, category, source_id) DO UPDATE SET"
    " hours = balances.hours + excluded.hours,"
    " entry_count = balances.entry_count + excluded.entry_count"
)


def _allocate_entry_ids(session: Session, n: int) -> list[int]:
    """Reserve ``n`` entry ids, so that entries go in without RETURNING (which would force
    row-at-a-time or statement-building paths that cost more than the insert)."""
    if dialect_of(session) == "postgresql":
        # The sequence is looked up once per statement, not once per id (MATERIALIZED keeps
        # the planner from folding the lookup into every row).
        return list(
            session.scalars(
                text(
                    "WITH s AS MATERIALIZED"
                    " (SELECT pg_get_serial_sequence('entries', 'id')::regclass AS name)"
                    " SELECT nextval(s.name) FROM s, generate_series(1, :n)"
                ),
                {"n": n},
            )
        )
    # SQLite: write transactions hold the database's write lock (BEGIN IMMEDIATE), so nobody
    # else can take these ids before we commit; entries are never deleted, so max(id) only grows.
    start = session.scalar(text("SELECT coalesce(max(id), 0) FROM entries")) or 0
    return list(range(start + 1, start + n + 1))


def _tenths(hours: Decimal) -> int:
    return int(hours.scaleb(1))


_ROW_OF_ENTRY = operator.itemgetter(*_ENTRY_COLUMNS)


_HOURS_AT = _ENTRY_COLUMNS.index("hours")


_COMPLETED_AT = _ENTRY_COLUMNS.index("completed_on")


_RECORDED_AT = _ENTRY_COLUMNS.index("recorded_at")


def _insert_entries(session: Session, pending: Pending) -> None:
    dialect = dialect_of(session)
    stamp = stored_timestamp(dialect, pending.recorded_at)
    rows = []
    for row in pending.rows:
        values = list(_ROW_OF_ENTRY(row))
        values[_HOURS_AT] = _tenths(row["hours"])
        values[_COMPLETED_AT] = stored_date(dialect, row["completed_on"])
        values[_RECORDED_AT] = stamp
        rows.append(tuple(values))
    insert_rows(session, _ENTRIES, _ENTRY_COLUMNS, rows)


def insert_records(session: Session, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    stamp = stored_timestamp(dialect_of(session), now)
    values = [
        tuple(stamp if name == "updated_at" else row[name] for name in _RECORD_COLUMNS)
        for row in rows
    ]
    insert_rows(session, RECORDS, _RECORD_COLUMNS, values)


def insert_people(session: Session, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    stamp = stored_timestamp(dialect_of(session), now)
    values = [
        tuple(stamp if name == "created_at" else row[name] for name in _PERSON_COLUMNS)
        for row in rows
    ]
    insert_rows(session, PEOPLE, _PERSON_COLUMNS, values)


def _add_to_balances(session: Session, pending: Pending) -> None:
    rows = [
        (pid, year, category, source_id, _tenths(hours), count)
        for (pid, year, category, source_id), (hours, count) in pending.deltas.items()
    ]
    insert_rows(session, _BALANCES, _BALANCE_COLUMNS, rows, suffix=_ADD_TO_BALANCE)


def flush(session: Session, pending: Pending) -> list[int]:
    """Insert the pending entries, move chain heads and balances; return the new entry ids."""
    if not pending.rows:
        return []
    ids = _allocate_entry_ids(session, len(pending.rows))
    for entry_id, row in zip(ids, pending.rows, strict=True):
        row["id"] = entry_id
    _insert_entries(session, pending)
    update_rows(
        session,
        PEOPLE,
        "id",
        ("head_hash", "entry_count"),
        [(c.person_id, c.head, c.count) for c in pending.chains.values()],
    )
    _add_to_balances(session, pending)
    return ids
