"""Status lists: an attestation's place in one when issued, and the signed list token served.

A filing system holding thousands of attestations downloads one signed list (``GET
/v1/status-lists/{id}``, a ``statuslist+jwt``) and reads each token's 2 bits at the ``idx`` its
``status.status_list`` claim names, instead of asking about each token. The bits are the
attestations' statuses (``attestations.status``), which every change sets in its own
transaction: a reversal that makes an attestation stale, or a revocation, changes the list in
that same transaction (and moves the list's ``version`` on, see
:func:`ledger.attestations.status.note_status_list_changes`).

Building a list token reads the attestations whose bits are not zero (a partial index holds
only those), packs and compresses 2**20 statuses and signs the result: tens of milliseconds for
a full list. Each process keeps the token it built per list, and serves it again for as long as
the list's version has not moved and the token is younger than its ``ttl``; a request then costs
one keyed read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, func, literal, select, text
from sqlalchemy.orm import Session

from ledger.attestations.jose import b64url
from ledger.attestations.signing_keys import KeyStatus, LoadedKey, active_signing_key
from ledger.attestations.status import AttestationState
from ledger.attestations.status_bits import (
    BITS,
    CAPACITY,
    StatusType,
    encode,
    pack,
    position_range,
    slot_of,
)
from ledger.attestations.tables import Attestation, SigningKey, StatusList
from ledger.db import fast
from ledger.db.transactions import read_transaction
from ledger.errors import UnknownStatusListError

STATUS_LIST_TYPE = "statuslist+jwt"
MEDIA_TYPE = "application/statuslist+jwt"
TTL = 300  # seconds a consumer may cache a list token (its ``ttl`` claim)
LIFETIME = dt.timedelta(days=1)  # a list token's ``exp``: a day after it was built
# The largest list id whose positions fit a signed 64-bit integer.
MAX_LIST_ID = (1 << 63) // CAPACITY

_NOT_VALID = text("attestations.status <> 'valid'")


class _Version(NamedTuple):
    version: int


# Built once: every request for a list reads it, and most go no further.
_VERSION = fast.Query(
    select(StatusList.version).where(StatusList.id == bindparam("list_id")), _Version
)

STATUS_VALUES: dict[str, StatusType] = {
    AttestationState.VALID: StatusType.VALID,
    AttestationState.REVOKED: StatusType.INVALID,
    AttestationState.STALE: StatusType.STALE,
}
"""Each attestation status as its list value (``ledger.attestations.status_bits``)."""

STATES: dict[int, AttestationState] = {
    int(v): AttestationState(k) for k, v in STATUS_VALUES.items()
}
"""A list value as the attestation status it stands for (a verifier's side)."""


def status_list_uri(base: str, list_id: int) -> str:
    """Where list ``list_id`` is served, under the service's base URL ``base``."""
    return f"{base.rstrip('/')}/v1/status-lists/{list_id}"


def allocate_position(session: Session) -> int:
    """A new attestation's place in the status lists, in the caller's transaction.

    On PostgreSQL a sequence gives it (concurrent issuances share no lock; a rolled-back
    issuance leaves a gap, an index no token names); elsewhere the largest position held plus
    one (SQLite writers take turns, and the write lock is held from the start).
    """
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(text("SELECT nextval('status_list_positions')")).scalar_one())
    largest = session.scalar(select(func.max(Attestation.status_position)))
    return 0 if largest is None else int(largest) + 1


def status_claim(position: int, base: str) -> dict[str, Any]:
    """The referenced token's ``status`` claim: ``{"status_list": {"idx", "uri"}}``."""
    slot = slot_of(position)
    return {"status_list": {"idx": slot.idx, "uri": status_list_uri(base, slot.list_id)}}


@dataclass(slots=True)
class _Built:
    """A list as built from one version of its bits, and its tokens signed so far: one per URL
    it was asked for at (a few; the ``Host`` a request names must not grow this)."""

    version: int
    kid: str
    built_at: dt.datetime
    lst: str
    tokens: dict[str, str]


_built: dict[tuple[str, int], _Built] = {}
_lock = threading.Lock()
_TOKENS_PER_LIST = 8


def get_status_list_token(
    session: Session,
    list_id: int,
    *,
    uri: str,
    issuer: str,
    kek: bytes,
    now: dt.datetime | None = None,
) -> str:
    """The signed status list token of list ``list_id``, whose ``sub`` is ``uri``.

    Raises:
        UnknownStatusListError: no attestation has a place in this list.
        SigningKeyError: no active signing key.
        KeyEncryptionKeyError: the KEK does not open it.
    """
    if not 1 <= list_id <= MAX_LIST_ID:
        raise UnknownStatusListError("no status list with this id")
    now = now or dt.datetime.now(dt.UTC)
    where = (session.get_bind().engine.url.render_as_string(hide_password=True), list_id)
    # The version first, the bits after: bits read later are never older than the version they
    # are remembered under (a change commits both), so a remembered list is current. The
    # version is one statement on its own; a request for an unchanged list reads nothing else
    # (the active key is remembered for a few seconds).
    versions = fast.fetch_alone(session, _VERSION, {"list_id": list_id})
    version = versions[0].version if versions else 0
    with read_transaction(session):
        key = active_signing_key(session, kek)
        built = _built.get(where)
        if built is None or not _still_good(built, version, key.kid, now):
            built = _Built(version, key.kid, now, _read_list(session, list_id), {})
    with _lock:
        token = built.tokens.get(uri)
        if token is None:
            claims = list_claims(uri, issuer, built.lst, built.built_at)
            token = sign_status_list(claims, key)
            if len(built.tokens) >= _TOKENS_PER_LIST:
                built.tokens.clear()
            built.tokens[uri] = token
        _built[where] = built
    return token


def _read_list(session: Session, list_id: int) -> str:
    """The ``lst`` of list ``list_id`` as the database holds it now.

    Raises:
        UnknownStatusListError: no attestation has a place in this list.
    """
    if not _exists(session, list_id):
        raise UnknownStatusListError("no status list with this id")
    held = Attestation.status_position.between(*position_range(list_id))
    # The predicate of the partial index, written as it is there (a bound value would keep
    # PostgreSQL's generic plan from using the index).
    rows: list[Any] = list(
        session.execute(
            select(Attestation.status_position, Attestation.status).where(held, _NOT_VALID)
        ).all()
    )
    # Every token a retired key signed is revoked from its retirement on (its public status
    # says key-retired); retire_key moves on the lists' versions, so this is read again then.
    retired = session.scalars(
        select(SigningKey.kid).where(SigningKey.status == KeyStatus.RETIRED)
    ).all()
    if retired:
        rows += session.execute(
            select(Attestation.status_position, literal(AttestationState.REVOKED.value)).where(
                held, Attestation.kid.in_(retired)
            )
        ).all()
    return encode(
        pack({slot_of(p).idx: STATUS_VALUES[s] for p, s in rows if p is not None}.items())
    )


def _exists(session: Session, list_id: int) -> bool:
    held = Attestation.status_position.between(*position_range(list_id))
    return bool(session.scalar(select(exists().where(held))))


def status_list_exists(session: Session, list_id: int) -> bool:
    """Whether any attestation has a place in list ``list_id``."""
    if not 1 <= list_id <= MAX_LIST_ID:
        return False
    with read_transaction(session):
        return _exists(session, list_id)


def _still_good(built: _Built, version: int, kid: str, now: dt.datetime) -> bool:
    """Whether a remembered list may be served again: same version, signed by the key now
    active, and younger than its ``ttl`` (so that ``iat`` stays recent)."""
    if built.version != version or built.kid != kid:
        return False
    return dt.timedelta(0) <= now - built.built_at < dt.timedelta(seconds=TTL)


def list_claims(uri: str, issuer: str, lst: str, now: dt.datetime) -> dict[str, Any]:
    """The claims of a status list token (the draft's ``sub``, ``iat``, ``exp``, ``ttl``)."""
    iat = int(now.timestamp())
    return {
        "iss": issuer,
        "sub": uri,
        "iat": iat,
        "exp": iat + int(LIFETIME.total_seconds()),
        "ttl": TTL,
        "status_list": {"bits": BITS, "lst": lst},
    }


def sign_status_list(claims: dict[str, Any], key: LoadedKey) -> str:
    """A compact JWS of ``claims`` with ``typ`` ``statuslist+jwt``, signed with the attestation
    signing key (verifiers already hold its public half, from the JWK Set)."""
    header = {"alg": key.alg, "kid": key.kid, "typ": STATUS_LIST_TYPE}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


def token_etag(token: str) -> str:
    """An entity tag naming a served list token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()[:32]


def forget_built_lists() -> None:
    """Drop the list tokens this process remembers (tests, key changes)."""
    with _lock:
        _built.clear()
