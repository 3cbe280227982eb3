"""Use cases of the ledger. Each owns its transaction and returns plain values.

The HTTP API, the importers and the CLI all append through :func:`append_records`, so a record
is validated, deduplicated, chained and balanced the same way whichever door it came in by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.attestations.status import mark_stale_for_entries
from ledger.db.fast import (
    rows_by_keys,
)
from ledger.db.transactions import run_with_retries, write_transaction
from ledger.entries.people import new_person_ids
from ledger.entries.records import RecordIn, parse_record
from ledger.entries.storage import (
    PEOPLE,
    RECORDS,
    Chain,
    Pending,
    credit_row,
    flush,
    insert_people,
    insert_records,
    lock_people,
    reversal_row,
    utc_now,
)
from ledger.entries.tables import Entry, Record, Source
from ledger.errors import (
    UnknownSourceError,
    ValidationError,
)
from ledger.values.dates import today_in_business_tz

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


class _Held(NamedTuple):
    """A record already held: where it stands now."""

    external_id: str
    person_id: str
    version: int
    content_digest: str
    entry_id: int
    status: str


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
    now = utc_now()

    # Records already held (locked first, as a reversal locks them: one order, no deadlock), and
    # the credits that a supersede would reverse.
    ext_ids = sorted({rec.external_id for _, rec in valid})
    rows = rows_by_keys(
        session,
        RECORDS,
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
    chains: dict[str, Chain] = {}
    if names:
        found = rows_by_keys(
            session,
            PEOPLE,
            ("id_number", "id", "head_hash", "entry_count"),
            "id_number",
            sorted(names),
            lock=True,
        )
        for number, pid, head, count in found:
            person_of[number] = pid
            chains[pid] = Chain(pid, head, count)
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
            insert_people(session, new_rows, now)
            for row in new_rows:
                person_of[row["id_number"]] = row["id"]
                chains[row["id"]] = Chain(row["id"], None, 0)
    # A held record whose credit belongs to someone not in this batch (a corrected ID number).
    chains.update(lock_people(session, {r.person_id for r in held.values()} - chains.keys()))
    pending = Pending(now)
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
            pos = pending.add(chains[pid], credit_row(rec, source_id, 1, actor))
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
                    reversal_row(target, "superseded by corrected record", actor),
                )
            row = credit_row(rec, source_id, existing.version + 1, actor)
            row["supersedes_id"] = existing.entry_id
            pid = person_of[rec.id_number]
            pos = pending.add(chains[pid], row)
            replaced.append((i, pos, existing))

    ids = flush(session, pending)
    if new_records:
        insert_records(
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
        mark_stale_for_entries(
            session, superseded_ids, reason="an entry it counted was superseded", actor=actor
        )
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]
