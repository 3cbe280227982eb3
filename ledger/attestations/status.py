"""An attestation's status (valid, stale, revoked), its changes and its audit trail."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger.attestations.status_bits import slot_of
from ledger.attestations.tables import (
    ATTESTATION_EVENTS,
    Attestation,
    AttestationEntry,
    AttestationEvent,
    SigningKey,
    StatusList,
)
from ledger.db.transactions import read_transaction, run_with_retries, write_transaction
from ledger.errors import (
    AttestationStatusError,
    UnknownAttestationError,
    ValidationError,
)
from ledger.values.texts import parse_reason


class AttestationState(enum.StrEnum):
    """An attestation's status (the contract's words)."""

    VALID = "valid"
    STALE = "stale"
    REVOKED = "revoked"


class AttestationEventKind(enum.StrEnum):
    """What happened to an attestation, as its audit trail (``attestation_events``) records it."""

    ISSUED = "issued"
    STALE = "stale"  # an entry it counted was reversed or superseded
    REVOKED = "revoked"


# What the public status endpoint says; the detailed reason (which may quote a platform's or an
# administrator's free text) stays in the audit trail and the filing system's view.
PUBLIC_REASONS: dict[str, str] = {
    "issued": "issued",
    "entry-corrected": "an entry it counted was later reversed or superseded; re-issue it",
    "revoked": "revoked by the issuer",
    "key-retired": "the key that signed it was withdrawn by the issuer; re-issue it",
}


class StatusReason(enum.StrEnum):
    """Why an attestation has its status, as a public code (``reason_code``)."""

    ISSUED = "issued"
    ENTRY_CORRECTED = "entry-corrected"  # stale: an entry it counted was reversed or superseded
    REVOKED = "revoked"  # revoked by the issuer (R11: falsified hours)
    KEY_RETIRED = "key-retired"  # the key that signed it was withdrawn (``cehours keys retire``)


_REASON_OF_STATE = {
    AttestationState.VALID: StatusReason.ISSUED,
    AttestationState.STALE: StatusReason.ENTRY_CORRECTED,
    AttestationState.REVOKED: StatusReason.REVOKED,
}


# The signing key's status that withdraws every token it signed (signing_keys.KeyStatus.RETIRED;
# named here so that this module, which entries calls back into, needs nothing of key handling).
_RETIRED_KEY = "retired"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """An attestation's status as anyone may see it: no personal data."""

    jti: str
    status: str
    reason: str
    changed_at: dt.datetime
    reason_code: str = "issued"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "jti": self.jti,
            "status": self.status,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "changed_at": self.changed_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AttestationInfo:
    """An issued attestation as the filing system sees it."""

    jti: str
    person_id: str
    token: str
    compliant: bool
    profile_id: str
    profile_version: str
    as_of: dt.date
    application_ref: str | None
    status: str
    status_reason: str | None
    status_changed_at: dt.datetime
    issued_by: str
    issued_at: dt.datetime
    expires_at: dt.datetime


def record_events(
    session: Session,
    jtis: Sequence[str],
    event: str,
    status: str,
    actor: str,
    reason: str | None,
    at: dt.datetime,
) -> None:
    session.connection().execute(
        ATTESTATION_EVENTS.insert(),
        [
            {"jti": j, "event": event, "status": status, "actor": actor, "reason": reason, "at": at}
            for j in jtis
        ],
    )


def mark_stale_for_entries(
    session: Session, entry_ids: Sequence[int], *, reason: str, actor: str
) -> int:
    """Mark every valid attestation that counted one of ``entry_ids`` as stale, in the caller's
    transaction (no commit here), recording an event for each. Returns how many changed.
    """
    if not entry_ids:
        return 0
    jtis = list(
        session.scalars(
            select(AttestationEntry.jti)
            .join(Attestation, Attestation.jti == AttestationEntry.jti)
            .where(
                AttestationEntry.entry_id.in_(list(entry_ids)),
                Attestation.status == AttestationState.VALID,
            )
            .distinct()
        )
    )
    if not jtis:
        return 0
    now = dt.datetime.now(dt.UTC)
    session.execute(
        sql_update(Attestation)
        .where(Attestation.jti.in_(jtis), Attestation.status == AttestationState.VALID)
        .values(status=AttestationState.STALE, status_reason=reason, status_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    record_events(
        session, jtis, AttestationEventKind.STALE, AttestationState.STALE, actor, reason, now
    )
    # Read only now, when something went stale: the append path's usual query stays as it was.
    positions = session.scalars(
        select(Attestation.status_position).where(Attestation.jti.in_(jtis))
    ).all()
    note_status_list_changes(session, positions, now)
    return len(jtis)


def note_status_list_changes(
    session: Session, positions: Sequence[int | None], now: dt.datetime
) -> None:
    """Move on the version of every status list holding one of ``positions``, whose bits have
    just changed, in the caller's transaction: a server's list token built from an earlier
    version is then out of date (``ledger.attestations.status_lists``)."""
    lists = sorted({slot_of(p).list_id for p in positions if p is not None})
    if not lists:
        return
    # A list's row is made by its first change (issuing sets no bit: VALID is zero), so that
    # issuances never write to a row they would all share.
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(StatusList).values(
        [{"id": i, "version": 1, "created_at": now, "changed_at": now} for i in lists]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[StatusList.id],
            set_={"version": StatusList.version + 1, "changed_at": statement.excluded.changed_at},
        )
    )


def revoke_attestation(session: Session, jti: str, *, reason: str, actor: str) -> StatusInfo:
    """Revoke an attestation (e.g. its hours were found falsified, R11); final.

    Raises:
        UnknownAttestationError: no such jti.
        AttestationStatusError: it is already revoked.
        ValidationError: no reason given, or one longer than 2,000 characters.
    """
    try:
        reason = parse_reason(reason)
    except ValueError as exc:
        raise ValidationError({"reason": [str(exc)]}) from None

    def transaction() -> StatusInfo:
        with write_transaction(session):
            row = session.get(Attestation, jti, with_for_update=True)
            if row is None:
                raise UnknownAttestationError("no attestation with this jti")
            if row.status == AttestationState.REVOKED:
                raise AttestationStatusError("this attestation is already revoked")
            now = dt.datetime.now(dt.UTC)
            row.status = AttestationState.REVOKED
            row.status_reason = reason
            row.status_changed_at = now
            record_events(
                session, [jti], AttestationEventKind.REVOKED, row.status, actor, reason, now
            )
            note_status_list_changes(session, [row.status_position], now)
            return _status(row)

    return run_with_retries(transaction)


def _status(row: Attestation, key_retired_at: dt.datetime | None = None) -> StatusInfo:
    """The public status of ``row``; a token whose key was retired is ``revoked`` from the
    moment of retirement (``key-retired``), unless the issuer revoked it before."""
    if key_retired_at is not None and row.status != AttestationState.REVOKED:
        code = StatusReason.KEY_RETIRED
        return StatusInfo(
            row.jti, AttestationState.REVOKED, PUBLIC_REASONS[code], key_retired_at, code
        )
    code = _REASON_OF_STATE[AttestationState(row.status)]
    return StatusInfo(row.jti, row.status, PUBLIC_REASONS[code], row.status_changed_at, code)


def _key_retired_at(session: Session, kid: str) -> dt.datetime | None:
    """When the key ``kid`` was retired, if it was."""
    found = session.execute(
        select(SigningKey.status, SigningKey.retired_at).where(SigningKey.kid == kid)
    ).first()
    if found is None or found.status != _RETIRED_KEY:
        return None
    return found.retired_at or dt.datetime.now(dt.UTC)


def get_attestation_status(session: Session, jti: str) -> StatusInfo:
    """The public status of an attestation: valid, stale or revoked, why (``reason_code``:
    issued, entry-corrected, revoked, key-retired), and since when.

    Raises:
        UnknownAttestationError: no such jti.
    """
    with read_transaction(session):
        row = session.get(Attestation, jti)
        if row is None:
            raise UnknownAttestationError("no attestation with this jti")
        return _status(row, _key_retired_at(session, row.kid))


def get_attestation_status_at(session: Session, jti: str, at: dt.datetime) -> StatusInfo:
    """The public status an attestation had at the moment ``at``: that of the last change
    recorded in its audit trail at or before ``at`` (every issuance and status change is an
    event, written in the change's own transaction with its time).

    Raises:
        UnknownAttestationError: no such jti.
        ValidationError: ``at`` has no time zone, is before the attestation was issued, or is
            in the future.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError({"at": ["give a time zone (e.g. Z or +08:00)"]})
    try:
        at = at.astimezone(dt.UTC)
    except OverflowError:  # the first or last day of year 1 or 9999, shifted out of range
        raise ValidationError({"at": ["is out of range"]}) from None
    with read_transaction(session):
        issued = session.execute(
            select(Attestation.issued_at, Attestation.kid).where(Attestation.jti == jti)
        ).first()
        if issued is None:
            raise UnknownAttestationError("no attestation with this jti")
        issued_at = issued.issued_at
        if at < issued_at:
            raise ValidationError(
                {"at": [f"the attestation did not exist yet: issued at {issued_at.isoformat()}"]}
            )
        if at > dt.datetime.now(dt.UTC):
            raise ValidationError({"at": ["is in the future; a status is known up to now"]})
        event = session.execute(
            select(AttestationEvent.status, AttestationEvent.at)
            .where(AttestationEvent.jti == jti, AttestationEvent.at <= at)
            .order_by(AttestationEvent.at.desc(), AttestationEvent.id.desc())
            .limit(1)
        ).one()
        retired_at = _key_retired_at(session, issued.kid)
    if retired_at is not None and retired_at <= at and event.status != AttestationState.REVOKED:
        # Revoked from the moment its key was withdrawn (as get_attestation_status says now).
        code = StatusReason.KEY_RETIRED
        return StatusInfo(jti, AttestationState.REVOKED, PUBLIC_REASONS[code], retired_at, code)
    code = _REASON_OF_STATE[AttestationState(event.status)]
    return StatusInfo(jti, event.status, PUBLIC_REASONS[code], event.at, code)


def get_attestation(session: Session, jti: str) -> AttestationInfo:
    """An issued attestation with its token and status (the filing system's view).

    Raises:
        UnknownAttestationError: no such jti.
    """
    with read_transaction(session):
        row = session.get(Attestation, jti)
        if row is None:
            raise UnknownAttestationError("no attestation with this jti")
        status = _status(row, _key_retired_at(session, row.kid))
        retired = status.reason_code == StatusReason.KEY_RETIRED
        return AttestationInfo(
            jti=row.jti,
            person_id=row.person_id,
            token=row.token,
            compliant=row.compliant,
            profile_id=row.profile_id,
            profile_version=row.profile_version,
            as_of=row.as_of,
            application_ref=row.application_ref,
            status=status.status,
            status_reason=status.reason if retired else row.status_reason,
            status_changed_at=status.changed_at,
            issued_by=row.issued_by,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
        )


def list_attestation_events(session: Session, jti: str) -> list[dict[str, Any]]:
    """The audit trail of one attestation, oldest first."""
    with read_transaction(session):
        rows = session.scalars(
            select(AttestationEvent)
            .where(AttestationEvent.jti == jti)
            .order_by(AttestationEvent.id)
        )
        return [
            {
                "event": r.event,
                "status": r.status,
                "actor": r.actor,
                "reason": r.reason,
                "at": r.at.isoformat(),
            }
            for r in rows
        ]
