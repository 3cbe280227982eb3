"""Issuing an attestation: evaluate, sign and record, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    bindparam,
    select,
    text,
)
from sqlalchemy.orm import Session

from ledger.attestations.key_encryption import load_kek
from ledger.attestations.signing_keys import LoadedKey, active_signing_key, token_lifetime
from ledger.attestations.status import AttestationEventKind, AttestationState, record_events
from ledger.attestations.status_lists import allocate_position, status_claim
from ledger.attestations.tables import ATTESTATION_ENTRIES, ATTESTATIONS, MAX_APPLICATION_REF
from ledger.attestations.tokens import (
    Evaluated,
    build_claims,
    configured_issuer,
    new_jti,
    sign_claims,
)
from ledger.compliance.catalogue import get_profile
from ledger.compliance.evaluation import evaluate
from ledger.db import fast
from ledger.db.transactions import run_with_retries, write_transaction
from ledger.entries.tables import Person
from ledger.errors import (
    UnknownPersonError,
    ValidationError,
)
from ledger.log.binding import log_claim
from ledger.values.id_numbers import validate_id_number

Evaluator = Callable[[Session, str, str, dt.date | None], Evaluated]
"""Evaluates a profile for a person as of a date, in the caller's transaction."""


@dataclass(frozen=True, slots=True)
class Issued:
    """An attestation just issued (the contract's response)."""

    jti: str
    token: str
    compliant: bool
    expires_at: dt.datetime
    kid: str

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``{jti, token, compliant, expires_at}``."""
        return {
            "jti": self.jti,
            "token": self.token,
            "compliant": self.compliant,
            "expires_at": self.expires_at.isoformat(),
        }


def _check_application_ref(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_APPLICATION_REF:
        raise ValidationError(
            {"application_ref": [f"must be 1 to {MAX_APPLICATION_REF} characters"]}
        )
    return value.strip()


def _evaluate(
    session: Session, person_id: str, profile_id: str, as_of: dt.date | None
) -> Evaluated:
    """Evaluate the profile with the compliance engine, in the caller's transaction."""

    profile = get_profile(profile_id)
    evaluation = evaluate(session, person_id, profile, as_of)
    outcome = evaluation.outcome()
    return Evaluated(
        profile_id=evaluation.profile_id,
        profile_version=str(evaluation.profile_version),
        profile_digest=evaluation.profile_digest,
        as_of=evaluation.as_of,
        window={
            "years": outcome["window"],
            "application_year": outcome["application_year"],
            "last_counted_day": outcome["last_counted_day"],
        },
        totals=outcome["totals"],
        rules=outcome["rules"],
        compliant=evaluation.compliant,
        counted_entry_ids=list(evaluation.counted_entry_ids),
        head_hash=evaluation.head_hash,
        entry_count=evaluation.entry_count,
        source_policy=outcome["source_policy"],
    )


class Applicant(NamedTuple):
    """The person an attestation is about, as its claims name them."""

    id: str
    name: str
    id_number: str


class AttestationRow(NamedTuple):
    """An ``attestations`` row, as issued."""

    jti: str
    person_id: str
    profile_id: str
    profile_version: str
    profile_digest: str
    as_of: dt.date
    application_ref: str | None
    kid: str
    token: str
    compliant: bool
    status: str
    status_reason: str | None
    status_changed_at: dt.datetime
    issued_by: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    status_position: int


# Built once: constructing a statement costs more than running it on a warm connection.
_APPLICANT = select(Person.id, Person.name, Person.id_number)
_LOCK_BY_ID = fast.Query(
    _APPLICANT.where(Person.id == bindparam("person_id")).with_for_update(), Applicant
)
_LOCK_BY_ID_NUMBER = fast.Query(
    _APPLICANT.where(Person.id_number == bindparam("id_number")).with_for_update(), Applicant
)


def issue_attestation(
    session: Session,
    person_id: str | None,
    profile_id: str,
    as_of: dt.date | None,
    application_ref: str | None,
    issued_by: str,
    *,
    id_number: str | None = None,
    kek: bytes | None = None,
    evaluate: Evaluator | None = None,
    status_base: str | None = None,
    refresh_log: Callable[[], None] | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Issued:
    """Evaluate ``profile_id`` for a person as of a date, sign the result and record it.

    The person is named by ``person_id`` or, when that is ``None``, by ``id_number``. Their
    chain head is locked first, so no reversal can slip between the evaluation and the record of
    what it counted (a reversal after commit finds the attestation and stales it). ``evaluate``
    replaces the compliance engine (tests); ``kek`` defaults to the environment's. ``status``
    names its place in a list under ``status_base`` (default: the issuer); ``log`` the newest
    checkpoint: if the head is newer, ``refresh_log`` (integrate, sign) runs once, then this.
    ``clock`` gives the moment of issue (default: now; tests issue tokens already expired).

    Raises:
        UnknownPersonError: no such person.
        UnknownProfileError: no such profile or version.
        ValidationError: a malformed ID number, ``application_ref`` or as-of date.
        SigningKeyError: no active signing key.
        KeyEncryptionKeyError: the KEK is missing or does not open the key.
    """
    ref = _check_application_ref(application_ref)
    lock, who = _lock_for(person_id, id_number)
    kek = kek if kek is not None else load_kek()
    run = evaluate or _evaluate
    issuer = configured_issuer()
    signer = _Signer(issuer, token_lifetime(), issued_by, status_base or issuer, clock or _utc_now)

    def transaction(wait_for_log: bool) -> Issued:
        with write_transaction(session):
            # The lock is a statement of its own, before the evaluation's read. Under READ
            # COMMITTED a statement reads the snapshot it started with: a read that also took
            # the lock would, after waiting for a concurrent reversal, see the person's new
            # head but not the reversal's entries (test_concurrency fails so).
            found = fast.fetch(session, lock, who)
            if not found:
                raise UnknownPersonError("no such person")
            person = found[0]
            evaluated = run(session, person.id, profile_id, as_of)
            log = log_claim(session, person.id, evaluated.entry_count)
            if wait_for_log and log is not None and not log["included"]:
                raise _LogBehindError
            key = active_signing_key(session, kek)
            position = allocate_position(session)
            row, counted = signer.sign(person, evaluated, key, ref, position, log)
            store_issued(session, row, counted)
            return Issued(row.jti, row.token, row.compliant, row.expires_at, key.kid)

    return _issue_logged(transaction, refresh_log)


def _issue_logged(
    attempt: Callable[[bool], Issued], refresh_log: Callable[[], None] | None
) -> Issued:
    """Run the issuance; if the log is behind the person's head, refresh it once and rerun."""
    try:
        return run_with_retries(lambda: attempt(refresh_log is not None))
    except _LogBehindError:
        assert refresh_log is not None
        refresh_log()
        return run_with_retries(lambda: attempt(False))


class _LogBehindError(Exception):
    """The person's head entry is newer than the log's newest checkpoint (rolls back)."""


def _lock_for(
    person_id: str | None, id_number: str | None
) -> tuple[fast.Query[Applicant], dict[str, str]]:
    """The statement that locks the person, by ``person_id`` or else by ``id_number``.

    Raises:
        ValidationError: the ID number is malformed.
    """
    if person_id is not None:
        return _LOCK_BY_ID, {"person_id": person_id}
    try:
        return _LOCK_BY_ID_NUMBER, {"id_number": validate_id_number(id_number)}
    except ValueError as exc:
        raise ValidationError({"id_number": [str(exc)]}) from None


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class _Signer:
    """Turns an evaluation into a signed token and the row that records it."""

    issuer: str
    lifetime: dt.timedelta
    issued_by: str
    status_base: str
    clock: Callable[[], dt.datetime] = _utc_now

    def sign(
        self,
        person: Applicant,
        evaluated: Evaluated,
        key: LoadedKey,
        ref: str | None,
        position: int,
        log: dict[str, Any] | None = None,
    ) -> tuple[AttestationRow, list[int]]:
        """The attestation's row (its token signed with ``key``, its bits at status list
        ``position``) and the entry ids it counted."""
        now = self.clock().astimezone(dt.UTC).replace(microsecond=0)
        expires = now + self.lifetime
        jti = new_jti()
        claims = build_claims(
            jti=jti,
            issuer=self.issuer,
            person_id=person.id,
            name=person.name,
            id_number=person.id_number,
            evaluated=evaluated,
            issued_at=now,
            expires_at=expires,
            application_ref=ref,
            status=status_claim(position, self.status_base),
            log=log,
        )
        row = AttestationRow(
            jti=jti,
            person_id=person.id,
            profile_id=evaluated.profile_id,
            profile_version=evaluated.profile_version,
            profile_digest=evaluated.profile_digest,
            as_of=evaluated.as_of,
            application_ref=ref,
            kid=key.kid,
            token=sign_claims(claims, key),
            compliant=bool(evaluated.compliant),
            status=AttestationState.VALID,
            status_reason=None,
            status_changed_at=now,
            issued_by=self.issued_by,
            issued_at=now,
            expires_at=expires,
            status_position=position,
        )
        return row, claims["entries"]["ids"]


_PG_STORE = text(
    """
    WITH attestation AS (
        INSERT INTO attestations (jti, person_id, profile_id, profile_version, profile_digest,
            as_of, application_ref, kid, token, compliant, status, status_reason,
            status_changed_at, issued_by, issued_at, expires_at, status_position)
        VALUES (:jti, :person_id, :profile_id, :profile_version, :profile_digest, :as_of,
            :application_ref, :kid, :token, :compliant, :status, :status_reason,
            :status_changed_at, :issued_by, :issued_at, :expires_at, :status_position)
    ), counted AS (
        INSERT INTO attestation_entries (jti, entry_id)
        SELECT :jti, unnest(CAST(:entry_ids AS bigint[]))
    )
    INSERT INTO attestation_events (jti, event, status, actor, reason, at)
    VALUES (:jti, :event, :status, :issued_by, NULL, :issued_at)
    """
)


def store_issued(session: Session, row: AttestationRow, entry_ids: list[int]) -> None:
    """Write an issued attestation, the entries it counted and its ``issued`` event.

    On PostgreSQL that is one statement (one round trip; foreign keys are checked at its end);
    elsewhere, and on :func:`ledger.db.fast.plain_paths`, three Core statements (a test holds
    the two together). Both skip the ORM's unit of work, which adds nothing here.
    """
    if fast.native_postgresql(session):
        event = AttestationEventKind.ISSUED
        fast.execute(session, _PG_STORE, {**row._asdict(), "entry_ids": entry_ids, "event": event})
        return
    conn = session.connection()
    conn.execute(ATTESTATIONS.insert(), row._asdict())
    if entry_ids:
        conn.execute(
            ATTESTATION_ENTRIES.insert().values(
                [{"jti": row.jti, "entry_id": i} for i in entry_ids]
            )
        )
    record_events(
        session,
        [row.jti],
        AttestationEventKind.ISSUED,
        row.status,
        row.issued_by,
        None,
        row.issued_at,
    )
