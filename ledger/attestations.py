"""Signed attestations of compliance results: issue, fetch, status, revoke, staleness.

An attestation is a JWT signed with the active key (see :mod:`ledger.signing`) over the result
of evaluating a frozen rule profile for a person as of a date. It records which entries it
counted, so that reversing or superseding any of them marks it ``stale`` in the same transaction
(:func:`mark_stale_for_entries`, called by the ledger's services). Status changes are
``valid -> stale``, ``valid -> revoked`` and ``stale -> revoked``; each, and each issuance, is
written to the append-only ``attestation_events`` table with who, when and why.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    select,
    text,
)
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger import signing
from ledger.canonical import canonical_bytes
from ledger.db import (
    UTCDateTime,
    driver_rows,
    read_transaction,
    run_with_retries,
    write_transaction,
)
from ledger.errors import (
    AttestationStatusError,
    UnknownAttestationError,
    UnknownPersonError,
    ValidationError,
)
from ledger.models import Base, EntryId, Person
from ledger.people import mask_id_number, validate_id_number
from ledger.verifier import TOKEN_TYPE, id_binding_hash

ISSUER_ENV = "CEHOURS_ISSUER"
DEFAULT_ISSUER = "https://cehours.example/"
MAX_APPLICATION_REF = 128


class AttestationState:
    """An attestation's status (the contract's words)."""

    VALID = "valid"
    STALE = "stale"
    REVOKED = "revoked"


# What the public status endpoint says; the detailed reason (which may quote a platform's or an
# administrator's free text) stays in the audit trail and the filing system's view.
PUBLIC_REASONS = {
    AttestationState.VALID: "issued",
    AttestationState.STALE: "an entry it counted was later reversed or superseded; re-issue it",
    AttestationState.REVOKED: "revoked by the issuer",
}


class Attestation(Base):
    """One issued attestation and its current status (the token itself never changes)."""

    __tablename__ = "attestations"

    jti: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(32), ForeignKey("people.id"), index=True)
    profile_id: Mapped[str] = mapped_column(String(64))
    profile_version: Mapped[str] = mapped_column(String(32))
    profile_digest: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    application_ref: Mapped[str | None] = mapped_column(String(MAX_APPLICATION_REF))
    # No foreign key: a check would lock the one active key's row in every issuance (0007).
    kid: Mapped[str] = mapped_column(String(64), index=True)
    token: Mapped[str] = mapped_column(Text)
    compliant: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AttestationEntry(Base):
    """An entry an attestation counted (indexed by entry, so staleness is one cheap join)."""

    __tablename__ = "attestation_entries"

    jti: Mapped[str] = mapped_column(String(40), ForeignKey("attestations.jti"), primary_key=True)
    # No foreign key (0007): entries are append-only, and a check would lock each counted entry.
    entry_id: Mapped[int] = mapped_column(EntryId, primary_key=True, index=True)


class AttestationEvent(Base):
    """Audit trail: every issuance and status change. Append-only (triggers refuse changes)."""

    __tablename__ = "attestation_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    jti: Mapped[str] = mapped_column(String(40), ForeignKey("attestations.jti"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


ATTESTATIONS = cast(Table, Attestation.__table__)
ATTESTATION_ENTRIES = cast(Table, AttestationEntry.__table__)
ATTESTATION_EVENTS = cast(Table, AttestationEvent.__table__)


@dataclass(frozen=True, slots=True)
class Evaluated:
    """What an attestation states: a profile evaluated for a person, and the ledger state used."""

    profile_id: str
    profile_version: str
    profile_digest: str
    as_of: dt.date
    window: Any
    totals: Any
    rules: Any
    compliant: bool
    counted_entry_ids: Sequence[int]
    head_hash: str | None
    entry_count: int


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


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """An attestation's status as anyone may see it: no personal data."""

    jti: str
    status: str
    reason: str
    changed_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "jti": self.jti,
            "status": self.status,
            "reason": self.reason,
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


def configured_issuer() -> str:
    """The ``iss`` of our tokens: ``CEHOURS_ISSUER``, default ``https://cehours.example/``."""
    return os.environ.get(ISSUER_ENV) or DEFAULT_ISSUER


def new_jti() -> str:
    """A fresh, unguessable attestation id (it is the key to the public status endpoint)."""
    return "att_" + secrets.token_hex(16)


def entries_digest(entry_ids: Sequence[int]) -> str:
    """SHA-256 hex of the canonical JSON list of counted entry ids, in ascending order."""
    return hashlib.sha256(canonical_bytes({"entry_ids": sorted(set(entry_ids))})).hexdigest()


class ClaimsEncoder(json.JSONEncoder):
    """JSON for claims: decimals as strings and dates in ISO form, as everywhere in this API."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return str(o)
        if isinstance(o, dt.date):
            return o.isoformat()
        return super().default(o)


def build_claims(
    *,
    jti: str,
    issuer: str,
    person_id: str,
    name: str,
    id_number: str,
    evaluated: Evaluated,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    application_ref: str | None,
    salt: str | None = None,
) -> dict[str, Any]:
    """The claims of an attestation token (see the README's "Attestations" for each one)."""
    salt = salt or secrets.token_hex(16)
    ids = sorted(set(evaluated.counted_entry_ids))
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": person_id,
        "iat": int(issued_at.timestamp()),
        "nbf": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": jti,
        "profile": {
            "id": evaluated.profile_id,
            "version": evaluated.profile_version,
            "digest": evaluated.profile_digest,
        },
        "as_of": evaluated.as_of.isoformat(),
        "window": evaluated.window,
        "totals": evaluated.totals,
        "rules": evaluated.rules,
        "compliant": bool(evaluated.compliant),
        "ledger": {"head": evaluated.head_hash, "entry_count": evaluated.entry_count},
        "entries": {"count": len(ids), "ids": ids, "digest": entries_digest(ids)},
        "id_binding": {
            "alg": "sha256(salt+id_number)",
            "salt": salt,
            "hash": id_binding_hash(salt, id_number),
        },
        "name": name,
        "id_number_masked": mask_id_number(id_number),
    }
    if application_ref is not None:
        claims["application_ref"] = application_ref
    return claims


def _claims_default(o: Any) -> Any:
    # orjson writes dates itself (ISO form); decimals go out as strings, as ClaimsEncoder does.
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_claims(claims: Mapping[str, Any], key: signing.LoadedKey) -> str:
    """Sign claims as a compact JWS with the ``kid`` and our ``typ`` in the header.

    The JWS is put together here (RFC 7515 section 7.1) rather than by PyJWT, which costs
    several times more per token; PyJWT and any other JOSE library verify it the same way.
    """
    payload = orjson.dumps(claims, default=_claims_default, option=orjson.OPT_NON_STR_KEYS)
    signing_input = _encoded_header(key.alg, key.kid) + b"." + _b64url(payload)
    return (signing_input + b"." + _b64url(key.sign(signing_input))).decode("ascii")


@functools.lru_cache(maxsize=16)
def _encoded_header(alg: str, kid: str) -> bytes:
    """A key's JWS header, encoded (the same for every token the key signs)."""
    header = json.dumps(
        {"alg": alg, "kid": kid, "typ": TOKEN_TYPE}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(header.encode("ascii"))


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
    from ledger import compliance, profiles

    profile = profiles.get_profile(profile_id)
    evaluation = compliance.evaluate(session, person_id, profile, as_of)
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
    )


class _Person(NamedTuple):
    id: str
    name: str
    id_number: str


# Built once: constructing a statement costs more than running it on a warm connection.
_PERSON_COLUMNS = select(Person.id, Person.name, Person.id_number)
_LOCK_BY_ID = _PERSON_COLUMNS.where(Person.id == bindparam("person_id")).with_for_update()
_LOCK_BY_ID_NUMBER = _PERSON_COLUMNS.where(
    Person.id_number == bindparam("id_number")
).with_for_update()


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
) -> Issued:
    """Evaluate ``profile_id`` for a person as of a date, sign the result and record it.

    The person is named by ``person_id`` or, when that is ``None``, by ``id_number``. Their
    chain head is locked first, so no reversal can slip between the evaluation and the record of
    what it counted (a reversal after commit finds the attestation and stales it). ``evaluate``
    replaces the compliance engine (tests); ``kek`` defaults to the environment's.

    Raises:
        UnknownPersonError: no such person.
        UnknownProfileError: no such profile or version.
        ValidationError: a malformed ID number, ``application_ref`` or as-of date.
        SigningKeyError: no active signing key.
        KeyEncryptionKeyError: the KEK is missing or does not open the key.
    """
    ref = _check_application_ref(application_ref)
    if person_id is None:
        try:
            lock, who = _LOCK_BY_ID_NUMBER, {"id_number": validate_id_number(id_number)}
        except ValueError as exc:
            raise ValidationError({"id_number": [str(exc)]}) from None
    else:
        lock, who = _LOCK_BY_ID, {"person_id": person_id}
    kek = kek if kek is not None else signing.load_kek()
    run = evaluate or _evaluate
    lifetime = signing.token_lifetime()
    issuer = configured_issuer()

    def transaction() -> Issued:
        with write_transaction(session):
            # The lock is a statement of its own, before the evaluation's read. Under READ
            # COMMITTED a statement reads the snapshot it started with: a read that also took
            # the lock would, after waiting for a concurrent reversal, see the person's new
            # head but not the reversal's entries (test_concurrency fails so).
            found = driver_rows(session, lock, who)
            if not found:
                raise UnknownPersonError("no such person")
            person = _Person(*found[0])
            evaluated = run(session, person.id, profile_id, as_of)
            key = signing.active_signing_key(session, kek)
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            expires = now + lifetime
            jti = new_jti()
            claims = build_claims(
                jti=jti,
                issuer=issuer,
                person_id=person.id,
                name=person.name,
                id_number=person.id_number,
                evaluated=evaluated,
                issued_at=now,
                expires_at=expires,
                application_ref=ref,
            )
            token = sign_claims(claims, key)
            row = {
                "jti": jti,
                "person_id": person.id,
                "profile_id": evaluated.profile_id,
                "profile_version": evaluated.profile_version,
                "profile_digest": evaluated.profile_digest,
                "as_of": evaluated.as_of,
                "application_ref": ref,
                "kid": key.kid,
                "token": token,
                "compliant": bool(evaluated.compliant),
                "status": AttestationState.VALID,
                "status_reason": None,
                "status_changed_at": now,
                "issued_by": issued_by,
                "issued_at": now,
                "expires_at": expires,
            }
            _store_issued(session, row, claims["entries"]["ids"])
            return Issued(jti, token, bool(evaluated.compliant), expires, key.kid)

    return run_with_retries(transaction)


_PG_STORE = text(
    """
    WITH attestation AS (
        INSERT INTO attestations (jti, person_id, profile_id, profile_version, profile_digest,
            as_of, application_ref, kid, token, compliant, status, status_reason,
            status_changed_at, issued_by, issued_at, expires_at)
        VALUES (:jti, :person_id, :profile_id, :profile_version, :profile_digest, :as_of,
            :application_ref, :kid, :token, :compliant, :status, :status_reason,
            :status_changed_at, :issued_by, :issued_at, :expires_at)
    ), counted AS (
        INSERT INTO attestation_entries (jti, entry_id)
        SELECT :jti, unnest(CAST(:entry_ids AS bigint[]))
    )
    INSERT INTO attestation_events (jti, event, status, actor, reason, at)
    VALUES (:jti, 'issued', :status, :issued_by, NULL, :issued_at)
    """
)


def _store_issued(session: Session, row: dict[str, Any], entry_ids: list[int]) -> None:
    """Write an issued attestation, the entries it counted and its ``issued`` event.

    On PostgreSQL that is one statement (one round trip; foreign keys are checked at its end);
    elsewhere three Core statements. Both skip the ORM's unit of work, which adds nothing here.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        driver_rows(session, _PG_STORE, {**row, "entry_ids": entry_ids})
        return
    conn.execute(ATTESTATIONS.insert(), row)
    if entry_ids:
        conn.execute(
            ATTESTATION_ENTRIES.insert().values(
                [{"jti": row["jti"], "entry_id": i} for i in entry_ids]
            )
        )
    _record(
        session, [row["jti"]], "issued", row["status"], row["issued_by"], None, row["issued_at"]
    )


def _record(
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
    _record(session, jtis, "stale", AttestationState.STALE, actor, reason, now)
    return len(jtis)


def revoke_attestation(session: Session, jti: str, *, reason: str, actor: str) -> StatusInfo:
    """Revoke an attestation (e.g. its hours were found falsified, R11); final.

    Raises:
        UnknownAttestationError: no such jti.
        AttestationStatusError: it is already revoked.
        ValidationError: no reason given.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError({"reason": ["a reason is required"]})
    if len(reason) > 2000:
        raise ValidationError({"reason": ["must be at most 2000 characters"]})

    def transaction() -> StatusInfo:
        with write_transaction(session):
            row = session.get(Attestation, jti, with_for_update=True)
            if row is None:
                raise UnknownAttestationError("no attestation with this jti")
            if row.status == AttestationState.REVOKED:
                raise AttestationStatusError("this attestation is already revoked")
            now = dt.datetime.now(dt.UTC)
            row.status = AttestationState.REVOKED
            row.status_reason = reason.strip()
            row.status_changed_at = now
            _record(session, [jti], "revoked", row.status, actor, reason.strip(), now)
            return _status(row)

    return run_with_retries(transaction)


def _status(row: Attestation) -> StatusInfo:
    return StatusInfo(row.jti, row.status, PUBLIC_REASONS[row.status], row.status_changed_at)


def attestation_status(session: Session, jti: str) -> StatusInfo:
    """The public status of an attestation: valid, stale or revoked, why, and since when.

    Raises:
        UnknownAttestationError: no such jti.
    """
    with read_transaction(session):
        row = session.get(Attestation, jti)
        if row is None:
            raise UnknownAttestationError("no attestation with this jti")
        return _status(row)


def get_attestation(session: Session, jti: str) -> AttestationInfo:
    """An issued attestation with its token and status (the filing system's view).

    Raises:
        UnknownAttestationError: no such jti.
    """
    with read_transaction(session):
        row = session.get(Attestation, jti)
        if row is None:
            raise UnknownAttestationError("no attestation with this jti")
        return AttestationInfo(
            jti=row.jti,
            person_id=row.person_id,
            token=row.token,
            compliant=row.compliant,
            profile_id=row.profile_id,
            profile_version=row.profile_version,
            as_of=row.as_of,
            application_ref=row.application_ref,
            status=row.status,
            status_reason=row.status_reason,
            status_changed_at=row.status_changed_at,
            issued_by=row.issued_by,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
        )


def attestation_events(session: Session, jti: str) -> list[dict[str, Any]]:
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
