"""Reversals: cancelling one credit, by record or by entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.attestations.status import mark_stale_for_entries
from ledger.db.transactions import run_with_retries, write_transaction
from ledger.entries.chain import EntryKind
from ledger.entries.storage import Pending, flush, lock_chains, reversal_of, utc_now
from ledger.entries.tables import Entry, Record, RecordStatus
from ledger.errors import (
    ReversalError,
    UnknownEntryError,
    UnknownRecordError,
    ValidationError,
)
from ledger.values.texts import parse_reason


@dataclass(frozen=True, slots=True)
class ReversalResult:
    """A reversal appended: its entry, the credit it cancels, and how many attestations that
    had counted the credit became stale (callers count them in their metrics)."""

    entry_id: int
    reversed_entry_id: int
    person_id: str
    stale_attestations: int = 0


def reverse_record(
    session: Session, source_id: str, external_id: str, *, reason: str, actor: str
) -> ReversalResult:
    """Reverse the current credit of a source's record.

    Raises:
        UnknownRecordError: the source holds no record with this external id.
        ReversalError: the record is already reversed.
        ValidationError: the reason is empty.
    """
    reason = _parse_reason(reason)

    def transaction() -> ReversalResult:
        with write_transaction(session):
            record = session.scalars(
                select(Record)
                .where(Record.source_id == source_id, Record.external_id == external_id)
                .with_for_update()
            ).one_or_none()
            if record is None:
                raise UnknownRecordError("no record with this external_id for this source")
            if record.status != RecordStatus.ACTIVE:
                raise ReversalError("this record is already reversed")
            result = _reverse(session, record.entry_id, reason, actor)
            record.status = RecordStatus.REVERSED
            record.updated_at = utc_now()
            return result

    return run_with_retries(transaction)


def reverse_entry(session: Session, entry_id: int, *, reason: str, actor: str) -> ReversalResult:
    """Reverse one credit entry by id (an operator's correction).

    Raises:
        UnknownEntryError: no such entry.
        ReversalError: the entry is a reversal, or already reversed.
        ValidationError: the reason is empty.
    """
    reason = _parse_reason(reason)

    def transaction() -> ReversalResult:
        with write_transaction(session):
            result = _reverse(session, entry_id, reason, actor)
            session.execute(
                update(Record)
                .where(Record.entry_id == entry_id)
                .values(status=RecordStatus.REVERSED, updated_at=utc_now())
            )
            return result

    return run_with_retries(transaction)


def _parse_reason(reason: object) -> str:
    """The reason, checked and without surrounding spaces (as the reversal records it).

    Raises:
        ValidationError: no reason, or a longer one than ``MAX_REASON``.
    """
    try:
        return parse_reason(reason)
    except ValueError as exc:
        raise ValidationError({"reason": [str(exc)]}) from None


def _reverse(session: Session, entry_id: int, reason: str, actor: str) -> ReversalResult:
    target = session.get(Entry, entry_id)
    if target is None:
        raise UnknownEntryError(f"no entry {entry_id}")
    if target.kind == EntryKind.REVERSAL:
        raise ReversalError(f"entry {entry_id} is a reversal; a reversal cannot be reversed")
    already = session.scalar(select(Entry.id).where(Entry.reverses_id == entry_id))
    if already is not None:
        raise ReversalError(f"entry {entry_id} is already reversed by entry {already}")
    chains = lock_chains(session, [target.person_id])
    pending = Pending(utc_now())
    pending.add(chains[target.person_id], reversal_of(target, reason=reason, actor=actor))
    (new_id,) = flush(session, pending)
    stale = mark_stale_for_entries(
        session,
        [entry_id],
        reason=f"an entry it counted was reversed: {reason}",
        actor=actor,
    )
    return ReversalResult(new_id, entry_id, target.person_id, stale)
