"""Use cases of the ledger. Each owns its transaction and returns plain values.

The HTTP API, the importers and the CLI all append through :func:`append_records`, so a record
is validated, deduplicated, chained and balanced the same way whichever door it came in by.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from ledger import attestations
from ledger.bulk import (
    dialect_of,
    insert_rows,
    rows_by_keys,
    stored_date,
    stored_timestamp,
    update_rows,
)
from ledger.db import run_with_retries, statement_rows, write_transaction
from ledger.entries import EntryKind, chain_hash, format_timestamp
from ledger.errors import (
    ReversalError,
    UnknownEntryError,
    UnknownPersonError,
    UnknownRecordError,
    UnknownSourceError,
    ValidationError,
)
from ledger.models import Balance, Entry, Person, Record, Source
from ledger.people import new_person_ids, validate_id_number
from ledger.records import RecordIn, parse_record
from ledger.values import today_in_business_tz

MAX_BATCH = 1000


class Status:
    """Per-record outcomes (the contract's names)."""

    CREATED = "created"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What happened to one record of a batch."""

    external_id: str | None
    status: str
    entry_id: int | None = None
    errors: dict[str, list[str]] | None = None
    person_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReversalResult:
    """A reversal appended: its entry, the credit it cancels, and how many attestations that
    had counted the credit became stale (callers count them in their metrics)."""

    entry_id: int
    reversed_entry_id: int
    person_id: str
    stale_attestations: int = 0


@dataclass(slots=True)
class _Chain:
    person_id: str
    head: str | None
    count: int


@dataclass(slots=True)
class _Pending:
    """Entries to append in this transaction, in order, with their chain positions assigned."""

    recorded_at: dt.datetime
    recorded_at_text: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    deltas: dict[tuple[str, int, str, str], list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [Decimal("0.0"), 0])
    )
    chains: dict[str, _Chain] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recorded_at_text = format_timestamp(self.recorded_at)

    def add(self, chain: _Chain, row: dict[str, Any]) -> int:
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _credit_row(record: RecordIn, source_id: str, version: int, actor: str) -> dict[str, Any]:
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


def _reversal_row(target: Entry, reason: str, actor: str) -> dict[str, Any]:
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


class _Held(NamedTuple):
    """A record already held: where it stands now."""

    external_id: str
    person_id: str
    version: int
    content_digest: str
    entry_id: int
    status: str


def _lock_people(session: Session, person_ids: Iterable[str]) -> dict[str, _Chain]:
    """Load (and on PostgreSQL lock, in id order to avoid deadlocks) the chain heads."""
    ids = sorted(set(person_ids))
    rows = rows_by_keys(session, _PEOPLE, ("id", "head_hash", "entry_count"), "id", ids, lock=True)
    return {pid: _Chain(pid, head, count) for pid, head, count in rows}


_ENTRIES = cast(Table, Entry.__table__)
_PEOPLE = cast(Table, Person.__table__)
_RECORDS = cast(Table, Record.__table__)
_BALANCES = cast(Table, Balance.__table__)
_ENTRY_COLUMNS = tuple(c.name for c in _ENTRIES.columns)
_RECORD_COLUMNS = tuple(c.name for c in _RECORDS.columns)
_PERSON_COLUMNS = tuple(c.name for c in _PEOPLE.columns)
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


def _insert_entries(session: Session, pending: _Pending) -> None:
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


def _insert_records(session: Session, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    stamp = stored_timestamp(dialect_of(session), now)
    values = [
        tuple(stamp if name == "updated_at" else row[name] for name in _RECORD_COLUMNS)
        for row in rows
    ]
    insert_rows(session, _RECORDS, _RECORD_COLUMNS, values)


def _insert_people(session: Session, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    stamp = stored_timestamp(dialect_of(session), now)
    values = [
        tuple(stamp if name == "created_at" else row[name] for name in _PERSON_COLUMNS)
        for row in rows
    ]
    insert_rows(session, _PEOPLE, _PERSON_COLUMNS, values)


def _add_to_balances(session: Session, pending: _Pending) -> None:
    rows = [
        (pid, year, category, source_id, _tenths(hours), count)
        for (pid, year, category, source_id), (hours, count) in pending.deltas.items()
    ]
    insert_rows(session, _BALANCES, _BALANCE_COLUMNS, rows, suffix=_ADD_TO_BALANCE)


def _flush(session: Session, pending: _Pending) -> list[int]:
    """Insert the pending entries, move chain heads and balances; return the new entry ids."""
    if not pending.rows:
        return []
    ids = _allocate_entry_ids(session, len(pending.rows))
    for entry_id, row in zip(ids, pending.rows, strict=True):
        row["id"] = entry_id
    _insert_entries(session, pending)
    update_rows(
        session,
        _PEOPLE,
        "id",
        ("head_hash", "entry_count"),
        [(c.person_id, c.head, c.count) for c in pending.chains.values()],
    )
    _add_to_balances(session, pending)
    return ids


def append_records(
    session: Session,
    source_id: str,
    records: Sequence[Mapping[str, Any] | RecordIn],
    *,
    actor: str,
    supersede: bool = False,
    today: dt.date | None = None,
) -> list[RecordResult]:
    """Append a batch of a source's records; report what happened to each, in order.

    Invalid records are ``rejected`` and the rest kept. A record already held with identical
    content is a ``duplicate``; with different content a ``conflict``, unless ``supersede`` (or
    the record's own ``supersede: true``) asks to replace it, which appends a reversal of the old
    credit and a new credit (``superseded``). Retrying any batch never appends twice: the whole
    batch is one transaction, re-run from the start if a concurrent writer got there first.

    Raises:
        UnknownSourceError: the source is not registered.
        ValidationError: more than ``MAX_BATCH`` records.
    """
    if len(records) > MAX_BATCH:
        raise ValidationError({"records": [f"at most {MAX_BATCH} records per batch"]})
    today = today or today_in_business_tz()
    parsed: list[RecordIn | RecordResult] = []
    wants_supersede: list[bool] = []
    for raw in records:
        wants_supersede.append(
            supersede or (isinstance(raw, Mapping) and raw.get("supersede") is True)
        )
        if isinstance(raw, RecordIn):
            parsed.append(raw)
            continue
        try:
            parsed.append(parse_record(raw, today=today))
        except ValidationError as exc:
            ext = raw.get("external_id") if isinstance(raw, Mapping) else None
            parsed.append(
                RecordResult(
                    external_id=ext if isinstance(ext, str) else None,
                    status=Status.REJECTED,
                    errors=exc.errors,
                )
            )

    def transaction() -> list[RecordResult]:
        with write_transaction(session):
            return _append(session, source_id, parsed, wants_supersede, actor)

    return run_with_retries(transaction)


def _append(
    session: Session,
    source_id: str,
    parsed: list[RecordIn | RecordResult],
    wants_supersede: list[bool],
    actor: str,
) -> list[RecordResult]:
    if session.get(Source, source_id) is None:
        raise UnknownSourceError(f"unknown source {source_id!r}")
    valid = [(i, r) for i, r in enumerate(parsed) if isinstance(r, RecordIn)]
    results: list[RecordResult | None] = [
        r if isinstance(r, RecordResult) else None for r in parsed
    ]
    now = _now()

    # Records already held (locked first, as a reversal locks them: one order, no deadlock), and
    # the credits that a supersede would reverse.
    ext_ids = sorted({rec.external_id for _, rec in valid})
    rows = rows_by_keys(
        session,
        _RECORDS,
        _Held._fields,
        "external_id",
        ext_ids,
        where=("source_id", source_id),
        lock=True,
    )
    held = {row[0]: _Held(*row) for row in rows}

    # People: find and lock their chain heads in one statement, or create them.
    names: dict[str, str] = {}
    for _, rec in valid:
        names.setdefault(rec.id_number, rec.name)
    person_of: dict[str, str] = {}
    chains: dict[str, _Chain] = {}
    if names:
        found = rows_by_keys(
            session,
            _PEOPLE,
            ("id_number", "id", "head_hash", "entry_count"),
            "id_number",
            sorted(names),
            lock=True,
        )
        for number, pid, head, count in found:
            person_of[number] = pid
            chains[pid] = _Chain(pid, head, count)
        # Sorted, so that concurrent writers claim new people in one order and never deadlock.
        missing = sorted(n for n in names if n not in person_of)
        if missing:
            new_rows: list[dict[str, Any]] = [
                {
                    "id": pid,
                    "id_number": n,
                    "name": names[n],
                    "head_hash": None,
                    "entry_count": 0,
                    "created_at": now,
                }
                for n, pid in zip(missing, new_person_ids(len(missing)), strict=True)
            ]
            _insert_people(session, new_rows, now)
            for row in new_rows:
                person_of[row["id_number"]] = row["id"]
                chains[row["id"]] = _Chain(row["id"], None, 0)
    # A held record whose credit belongs to someone not in this batch (a corrected ID number).
    chains.update(_lock_people(session, {r.person_id for r in held.values()} - chains.keys()))
    pending = _Pending(now)
    seen: dict[str, str] = {}
    # (result index, pending row index of the new credit, record row to write, old entry id)
    new_records: list[tuple[int, int, RecordIn, str]] = []
    replaced: list[tuple[int, int, _Held]] = []
    to_reverse: dict[int, _Held] = {}
    for i, rec in valid:
        digest = rec.digest()
        if rec.external_id in seen:
            same = seen[rec.external_id] == digest
            results[i] = RecordResult(
                rec.external_id,
                Status.DUPLICATE if same else Status.CONFLICT,
                errors=None
                if same
                else {"external_id": ["appears earlier in this batch with different content"]},
            )
            continue
        seen[rec.external_id] = digest
        existing = held.get(rec.external_id)
        pid = person_of[rec.id_number]
        if existing is None:
            pos = pending.add(chains[pid], _credit_row(rec, source_id, 1, actor))
            new_records.append((i, pos, rec, pid))
        elif existing.content_digest == digest:
            results[i] = RecordResult(
                rec.external_id, Status.DUPLICATE, existing.entry_id, person_id=existing.person_id
            )
        elif not wants_supersede[i]:
            results[i] = RecordResult(
                rec.external_id,
                Status.CONFLICT,
                existing.entry_id,
                errors={
                    "external_id": [
                        "a record with this external_id and different content is already held;"
                        " send it with supersede to replace it"
                    ]
                },
                person_id=existing.person_id,
            )
        else:
            to_reverse[i] = existing

    if to_reverse:
        old_ids = [r.entry_id for r in to_reverse.values() if r.status == "active"]
        old = {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(old_ids)))}
        for i, existing in to_reverse.items():
            parsed_rec = parsed[i]
            assert isinstance(parsed_rec, RecordIn)
            rec = parsed_rec
            if existing.status == "active":
                target = old[existing.entry_id]
                pending.add(
                    chains[existing.person_id],
                    _reversal_row(target, "superseded by corrected record", actor),
                )
            row = _credit_row(rec, source_id, existing.version + 1, actor)
            row["supersedes_id"] = existing.entry_id
            pid = person_of[rec.id_number]
            pos = pending.add(chains[pid], row)
            replaced.append((i, pos, existing))

    ids = _flush(session, pending)
    if new_records:
        _insert_records(
            session,
            [
                {
                    "source_id": source_id,
                    "external_id": rec.external_id,
                    "person_id": pid,
                    "version": 1,
                    "content_digest": pending.rows[pos]["content_digest"],
                    "entry_id": ids[pos],
                    "status": "active",
                }
                for _, pos, rec, pid in new_records
            ],
            now,
        )
        for i, pos, rec, pid in new_records:
            results[i] = RecordResult(rec.external_id, Status.CREATED, ids[pos], person_id=pid)
    if replaced:
        superseded_ids = [e.entry_id for _, _, e in replaced if e.status == "active"]
        session.execute(
            update(Record),
            [
                {
                    "source_id": source_id,
                    "external_id": existing.external_id,
                    "person_id": pending.rows[pos]["person_id"],
                    "version": existing.version + 1,
                    "content_digest": pending.rows[pos]["content_digest"],
                    "entry_id": ids[pos],
                    "status": "active",
                    "updated_at": now,
                }
                for _, pos, existing in replaced
            ],
        )
        for i, pos, existing in replaced:
            results[i] = RecordResult(
                existing.external_id,
                Status.SUPERSEDED,
                ids[pos],
                person_id=pending.rows[pos]["person_id"],
            )
        attestations.mark_stale_for_entries(
            session, superseded_ids, reason="an entry it counted was superseded", actor=actor
        )
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def reverse_record(
    session: Session, source_id: str, external_id: str, *, reason: str, actor: str
) -> ReversalResult:
    """Reverse the current credit of a source's record.

    Raises:
        UnknownRecordError: the source holds no record with this external id.
        ReversalError: the record is already reversed.
        ValidationError: the reason is empty.
    """
    _check_reason(reason)

    def transaction() -> ReversalResult:
        with write_transaction(session):
            record = session.scalars(
                select(Record)
                .where(Record.source_id == source_id, Record.external_id == external_id)
                .with_for_update()
            ).one_or_none()
            if record is None:
                raise UnknownRecordError("no record with this external_id for this source")
            if record.status != "active":
                raise ReversalError("this record is already reversed")
            result = _reverse(session, record.entry_id, reason, actor)
            record.status = "reversed"
            record.updated_at = _now()
            return result

    return run_with_retries(transaction)


def reverse_entry(session: Session, entry_id: int, *, reason: str, actor: str) -> ReversalResult:
    """Reverse one credit entry by id (an operator's correction).

    Raises:
        UnknownEntryError: no such entry.
        ReversalError: the entry is a reversal, or already reversed.
        ValidationError: the reason is empty.
    """
    _check_reason(reason)

    def transaction() -> ReversalResult:
        with write_transaction(session):
            result = _reverse(session, entry_id, reason, actor)
            session.execute(
                update(Record)
                .where(Record.entry_id == entry_id)
                .values(status="reversed", updated_at=_now())
            )
            return result

    return run_with_retries(transaction)


def _check_reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError({"reason": ["a reason is required"]})
    if len(reason) > 2000:
        raise ValidationError({"reason": ["must be at most 2000 characters"]})


def _reverse(session: Session, entry_id: int, reason: str, actor: str) -> ReversalResult:
    target = session.get(Entry, entry_id)
    if target is None:
        raise UnknownEntryError(f"no entry {entry_id}")
    if target.kind == EntryKind.REVERSAL:
        raise ReversalError(f"entry {entry_id} is a reversal; a reversal cannot be reversed")
    already = session.scalar(select(Entry.id).where(Entry.reverses_id == entry_id))
    if already is not None:
        raise ReversalError(f"entry {entry_id} is already reversed by entry {already}")
    chains = _lock_people(session, [target.person_id])
    pending = _Pending(_now())
    pending.add(chains[target.person_id], _reversal_row(target, reason.strip(), actor))
    (new_id,) = _flush(session, pending)
    stale = attestations.mark_stale_for_entries(
        session,
        [entry_id],
        reason=f"an entry it counted was reversed: {reason.strip()}",
        actor=actor,
    )
    return ReversalResult(new_id, entry_id, target.person_id, stale)


def find_person_id(session: Session, id_number: str) -> str:
    """Return the opaque person id for an ID number.

    Raises:
        ValidationError: the ID number is invalid.
        UnknownPersonError: nobody with this ID number has hours in the ledger.
    """
    try:
        number = validate_id_number(id_number)
    except ValueError as exc:
        raise ValidationError({"id_number": [str(exc)]}) from None
    rows = statement_rows(session, _PERSON_BY_ID_NUMBER, {"id_number": number})
    if not rows:
        raise UnknownPersonError("no person with this ID number")
    return str(rows[0][0])


_PERSON_BY_ID_NUMBER = select(Person.id).where(Person.id_number == bindparam("id_number"))


def person_totals(session: Session, person_id: str) -> dict[int, dict[str, Decimal]]:
    """Hours per year and category for a person, from balances: O(years), not O(entries).

    Raises:
        UnknownPersonError: no such person.
    """
    with session.begin():
        if session.get(Person, person_id) is None:
            raise UnknownPersonError("no such person")
        totals: dict[int, dict[str, Decimal]] = defaultdict(dict)
        rows = session.execute(
            select(Balance.year, Balance.category, Balance.hours).where(
                Balance.person_id == person_id
            )
        )
        for year, category, hours in rows:
            totals[year][category] = totals[year].get(category, Decimal("0.0")) + hours
    return dict(totals)
