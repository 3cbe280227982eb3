"""Appending a batch of a platform's records: the one way hours enter the ledger.

The HTTP API, the importers and the CLI all append through :func:`append_records`, so a record
is validated, deduplicated, chained and balanced the same way whichever door it came in by.

One batch, one transaction, in named steps (:func:`_append_batch`):

1. find and lock what the source already holds of the batch's records;
2. find and lock the batch's people, creating the ones the ledger does not know;
3. decide each record (:func:`decide`, the business rules: created, duplicate, conflict,
   superseded), a pure function of the record, what is held and what came earlier in the batch;
4. plan the entries the decisions need (credits; for a supersede a reversal and a credit);
5. write them (:func:`ledger.entries.storage.flush`), then the records' rows, and mark stale
   every attestation that counted a superseded credit.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.attestations.status import mark_stale_for_entries
from ledger.db import fast
from ledger.db.transactions import run_with_retries, write_transaction
from ledger.entries.chain import NewEntry
from ledger.entries.records import RecordIn, parse_record
from ledger.entries.storage import (
    PEOPLE,
    RECORDS,
    Chain,
    Pending,
    RecordRow,
    create_people,
    credit_of,
    flush,
    insert_records,
    lock_chains,
    reversal_of,
    utc_now,
)
from ledger.entries.tables import Entry, Record, RecordStatus, Source
from ledger.errors import UnknownSourceError, ValidationError
from ledger.values.dates import today_in_business_tz
from ledger.values.reasons import SUPERSEDE_REASON
from ledger.values.texts import unicode_problem

MAX_BATCH = 1000


class Status(enum.StrEnum):
    """What became of one record of a batch (the contract's names)."""

    CREATED = "created"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What happened to one record of a batch."""

    external_id: str | None
    status: Status
    entry_id: int | None = None
    errors: dict[str, list[str]] | None = None
    person_id: str | None = None


class Submitted(NamedTuple):
    """One record of a batch as sent: parsed, or rejected with its errors; and whether it asks
    to replace a record held with other content. (Named tuples here, not frozen dataclasses:
    there is one of each per record, and a frozen dataclass costs microseconds to build.)"""

    record: RecordIn | None
    rejected: RecordResult | None
    supersede: bool


class Held(NamedTuple):
    """A record the source already holds: where it stands now (a ``records`` row)."""

    external_id: str
    person_id: str
    version: int
    content_digest: str
    entry_id: int
    status: str


class Known(NamedTuple):
    """A person the ledger knows, found by ID number, with their chain head."""

    id_number: str
    id: str
    head_hash: str | None
    entry_count: int


class Decision(NamedTuple):
    """What to do with one valid record of the batch (``position``: its place in the batch)."""

    position: int
    record: RecordIn
    status: Status
    held: Held | None = None
    errors: dict[str, list[str]] | None = None


@dataclass(slots=True)
class People:
    """The batch's people: person id by ID number, and the chains entries will be added to
    (the batch's people and the owners of held records)."""

    by_number: dict[str, str]
    chains: dict[str, Chain]


class Planned(NamedTuple):
    """A decision whose new credit is pending (``credit``), for the record rows and results."""

    decision: Decision
    credit: NewEntry  # placed in its chain; given its id once written


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
    batch = submit(records, supersede=supersede, today=today or today_in_business_tz())

    def transaction() -> list[RecordResult]:
        with write_transaction(session):
            return _append_batch(session, source_id, batch, actor)

    return run_with_retries(transaction)


def submit(
    records: Sequence[Mapping[str, Any] | RecordIn], *, supersede: bool, today: dt.date
) -> list[Submitted]:
    """Parse each record of a batch (before the transaction: parsing needs no database)."""
    batch = []
    for raw in records:
        wants = supersede or (isinstance(raw, Mapping) and raw.get("supersede") is True)
        if isinstance(raw, RecordIn):
            batch.append(Submitted(raw, None, wants))
            continue
        try:
            batch.append(Submitted(parse_record(raw, today=today), None, wants))
        except ValidationError as exc:
            ext = raw.get("external_id") if isinstance(raw, Mapping) else None
            # An id that is not valid text cannot be given back as it came (nor encoded).
            echoed = ext if isinstance(ext, str) and unicode_problem(ext) is None else None
            rejected = RecordResult(echoed, Status.REJECTED, errors=exc.errors)
            batch.append(Submitted(None, rejected, wants))
    return batch


def _append_batch(
    session: Session, source_id: str, batch: list[Submitted], actor: str
) -> list[RecordResult]:
    """The steps of one append, in the caller's write transaction."""
    if session.get(Source, source_id) is None:
        raise UnknownSourceError(f"unknown source {source_id!r}")
    now = utc_now()
    valid = [(i, s.record) for i, s in enumerate(batch) if s.record is not None]
    held = _lock_held(session, source_id, [r for _, r in valid])
    people = _lock_people(session, [r for _, r in valid], held, now)
    decisions = decide_batch(valid, held, [s.supersede for s in batch])
    pending = Pending(now)
    planned = _plan_entries(session, pending, decisions, people, source_id, actor)
    flush(session, pending)
    _store_records(session, source_id, planned, now)
    superseded = [p.decision.held for p in planned if p.decision.status == Status.SUPERSEDED]
    mark_stale_for_entries(
        session,
        [h.entry_id for h in superseded if h is not None and h.status == RecordStatus.ACTIVE],
        reason="an entry it counted was superseded",
        actor=actor,
    )
    return _results(batch, decisions, planned)


def _lock_held(session: Session, source_id: str, records: list[RecordIn]) -> dict[str, Held]:
    """The source's records already held among ``records``, by external id, locked (first, as a
    reversal locks them: one order, no deadlock)."""
    external_ids = sorted({r.external_id for r in records})
    rows = fast.lookup_rows(
        session,
        RECORDS,
        Held,
        "external_id",
        external_ids,
        where=("source_id", source_id),
        lock=True,
    )
    return {h.external_id: h for h in rows}


def _lock_people(
    session: Session, records: list[RecordIn], held: dict[str, Held], now: dt.datetime
) -> People:
    """Find and lock the batch's people by ID number in one statement, creating the ones the
    ledger does not know yet; and lock the owners of held records who are not in the batch
    (a record whose ID number was corrected)."""
    names: dict[str, str] = {}
    for record in records:
        names.setdefault(record.id_number, record.name)
    known = fast.lookup_rows(session, PEOPLE, Known, "id_number", sorted(names), lock=True)
    by_number = {k.id_number: k.id for k in known}
    chains = {k.id: Chain(k.id, k.head_hash, k.entry_count) for k in known}
    unknown = {number: name for number, name in names.items() if number not in by_number}
    if unknown:
        created = create_people(session, unknown, now)
        by_number.update(created)
        chains.update({pid: Chain(pid, None, 0) for pid in created.values()})
    chains.update(lock_chains(session, {h.person_id for h in held.values()} - chains.keys()))
    return People(by_number, chains)


def decide_batch(
    valid: list[tuple[int, RecordIn]], held: dict[str, Held], supersede: list[bool]
) -> list[Decision]:
    """Decide each valid record, in batch order (see :func:`decide`)."""
    seen: dict[str, str] = {}
    decisions = []
    for index, record in valid:
        decisions.append(
            decide(index, record, held.get(record.external_id), seen, supersede[index])
        )
        seen.setdefault(record.external_id, record.digest())
    return decisions


def decide(
    index: int, record: RecordIn, held: Held | None, seen: Mapping[str, str], supersede: bool
) -> Decision:
    """The business rules of one record: what came earlier in the batch (``seen``: external id
    -> content digest) and what the source holds decide whether it is new, a duplicate, a
    conflict or a correction that supersedes the held one."""
    digest = record.digest()
    earlier = seen.get(record.external_id)
    if earlier is not None:
        if earlier == digest:
            return Decision(index, record, Status.DUPLICATE)
        why = {"external_id": ["appears earlier in this batch with different content"]}
        return Decision(index, record, Status.CONFLICT, errors=why)
    if held is None:
        return Decision(index, record, Status.CREATED)
    if held.content_digest == digest:
        return Decision(index, record, Status.DUPLICATE, held)
    if not supersede:
        why = {
            "external_id": [
                "a record with this external_id and different content is already held;"
                " send it with supersede to replace it"
            ]
        }
        return Decision(index, record, Status.CONFLICT, held, why)
    return Decision(index, record, Status.SUPERSEDED, held)


def _plan_entries(
    session: Session,
    pending: Pending,
    decisions: list[Decision],
    people: People,
    source_id: str,
    actor: str,
) -> list[Planned]:
    """Add to ``pending`` the entries the decisions need: a credit for each new record, then for
    each supersede the reversal of the held credit (unless it was already reversed) and the new
    credit. Entry ids follow this order."""
    planned = []
    for d in decisions:
        if d.status == Status.CREATED:
            chain = people.chains[people.by_number[d.record.id_number]]
            credit = pending.add(chain, credit_of(d.record, source_id, version=1, actor=actor))
            planned.append(Planned(d, credit))
    replacing = [d for d in decisions if d.status == Status.SUPERSEDED]
    old_credits = _active_credits(session, [d.held for d in replacing if d.held is not None])
    for d in replacing:
        assert d.held is not None
        if d.held.status == RecordStatus.ACTIVE:
            reversal = reversal_of(
                old_credits[d.held.entry_id], reason=SUPERSEDE_REASON, actor=actor
            )
            pending.add(people.chains[d.held.person_id], reversal)
        credit = credit_of(
            d.record, source_id, version=d.held.version + 1, actor=actor, supersedes=d.held.entry_id
        )
        chain = people.chains[people.by_number[d.record.id_number]]
        planned.append(Planned(d, pending.add(chain, credit)))
    return planned


def _active_credits(session: Session, held: list[Held]) -> dict[int, Entry]:
    """The credits of held records that are still active (what a supersede reverses)."""
    ids = [h.entry_id for h in held if h.status == RecordStatus.ACTIVE]
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(ids)))}


def _store_records(
    session: Session, source_id: str, planned: list[Planned], now: dt.datetime
) -> None:
    """Write where each record now stands: new ``records`` rows for created records, the held
    rows moved to their new credit for superseded ones."""
    rows = [
        RecordRow(
            source_id=source_id,
            external_id=p.decision.record.external_id,
            person_id=p.credit.person_id,
            version=p.credit.record_version,
            content_digest=p.credit.content_digest,
            entry_id=p.credit.id,
            status=RecordStatus.ACTIVE,
            updated_at=now,
        )
        for p in planned
    ]
    created = [r for r, p in zip(rows, planned, strict=True) if p.decision.status == Status.CREATED]
    insert_records(session, created)
    moved = [r._asdict() for r, p in zip(rows, planned, strict=True) if p.decision.held is not None]
    if moved:
        session.execute(update(Record), moved)


def _results(
    batch: list[Submitted], decisions: list[Decision], planned: list[Planned]
) -> list[RecordResult]:
    """One result per record of the batch, in order."""
    results: list[RecordResult | None] = [s.rejected for s in batch]
    for d in decisions:
        held = d.held
        ext = d.record.external_id
        if d.status in (Status.DUPLICATE, Status.CONFLICT):
            entry_id = held.entry_id if held else None
            person_id = held.person_id if held else None
            results[d.position] = RecordResult(ext, d.status, entry_id, d.errors, person_id)
    for p in planned:
        results[p.decision.position] = RecordResult(
            p.decision.record.external_id,
            p.decision.status,
            p.credit.id,
            person_id=p.credit.person_id,
        )
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]
