"""Attestation signing keys: Ed25519 / ES256, RFC 7638 kids, encrypted at rest, rotation, JWKS.

Where private keys live: in the ``signing_keys`` table, never in clear. Each private key (PKCS#8)
is sealed with AES-256-GCM under a key-encryption key (KEK) that never touches the database; the
key's ``kid`` is the associated data, so a sealed key cannot be moved to another row. The KEK
comes from the environment: ``CEHOURS_KEY_ENCRYPTION_KEY`` (32 bytes, base64url), or
``CEHOURS_KEY_ENCRYPTION_KEY_FILE`` naming a file that holds it and that only its owner may read
(0600 or stricter). A development server (``--dev``) with neither set uses, and creates on first
use, ``var/dev-key-encryption-key`` (0600). Losing the KEK only means new keys must be created:
public keys stay in the table, so live tokens keep verifying.

Key lifecycle: ``active`` (signs new tokens; exactly one) -> ``verify-only`` after a rotation
(still published until ``publish_until``, the latest expiry any token it signed can have) ->
unpublished. ``retire`` withdraws a key at once (e.g. suspected compromise); the JWKS then lists
its kid under the extra member ``retired`` so that verifiers can say why a token fails. Every
transition records who did it and when, on the key's own row.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.attestations.jose import SigningAlgorithm, b64url
from ledger.attestations.key_encryption import PrivateKey, seal, unseal
from ledger.attestations.status import note_status_list_changes
from ledger.attestations.tables import Attestation, SigningKey
from ledger.db.transactions import read_transaction, run_with_retries, write_transaction
from ledger.errors import (
    SigningKeyError,
    UnknownSigningKeyError,
    ValidationError,
)
from ledger.values.texts import parse_reason

DEFAULT_ALGORITHM = SigningAlgorithm.EDDSA


LIFETIME_ENV = "CEHOURS_ATTESTATION_LIFETIME_DAYS"


DEFAULT_LIFETIME = dt.timedelta(days=90)


ACTIVE_KEY_TTL = 5.0


# Retiring waits until no worker can still remember the key as the active one (ACTIVE_KEY_TTL
# from a read made before its rotation committed); this covers the rotating transaction's own
# time and the clocks of the processes involved.
RETIRE_MARGIN = 1.0


class KeyStatus(enum.StrEnum):
    """Where a signing key is in its life."""

    ACTIVE = "active"
    VERIFY_ONLY = "verify-only"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A signing key as shown to operators (never the private part)."""

    kid: str
    alg: str
    status: str
    published: bool
    created_at: dt.datetime
    created_by: str
    rotated_at: dt.datetime | None
    publish_until: dt.datetime | None
    retired_at: dt.datetime | None
    retired_reason: str | None


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """An opened private key, ready to sign."""

    kid: str
    alg: str
    private_key: PrivateKey

    def sign(self, data: bytes) -> bytes:
        """The JWS signature of ``data``: Ed25519's 64 bytes (RFC 8037), or for ES256 the
        32-byte ``r`` then ``s`` (RFC 7518 section 3.4), not the DER that OpenSSL returns.

        Raises:
            SigningKeyError: the key is not of its algorithm's type.
        """
        key = self.private_key
        if self.alg == SigningAlgorithm.EDDSA and isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if self.alg == SigningAlgorithm.ES256 and isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        raise SigningKeyError(f"signing key {self.kid} does not hold an {self.alg} key")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_lifetime() -> dt.timedelta:
    """How long an attestation stays live: ``CEHOURS_ATTESTATION_LIFETIME_DAYS``, default 90.

    Raises:
        ValidationError: the variable is not a positive whole number of days.
    """
    raw = os.environ.get(LIFETIME_ENV)
    if not raw:
        return DEFAULT_LIFETIME
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if not 1 <= days <= 3660:
        raise ValidationError({LIFETIME_ENV: ["must be a whole number of days, 1 to 3660"]})
    return dt.timedelta(days=days)


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public OKP or EC key.

    Raises:
        ValueError: the key type is neither OKP nor EC.
    """
    if jwk.get("kty") == "OKP":
        members = {k: jwk[k] for k in ("crv", "kty", "x")}
    elif jwk.get("kty") == "EC":
        members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    else:
        raise ValueError("only OKP and EC keys are used here")
    digest = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode())
    return b64url(digest.digest())


def public_jwk(private_key: PrivateKey) -> dict[str, str]:
    """The public half of a key as a JWK (without ``kid``, ``alg`` or ``use``).

    Raises:
        ValueError: an EC key not on P-256.
    """
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    numbers = private_key.public_key().public_numbers()
    if not isinstance(numbers.curve, ec.SECP256R1):
        raise ValueError("ES256 keys must be on P-256")
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def generate_private_key(alg: str) -> PrivateKey:
    """A new private key for ``alg`` (``EdDSA`` -> Ed25519, ``ES256`` -> P-256).

    Raises:
        ValidationError: another algorithm was asked for.
    """
    if alg == SigningAlgorithm.EDDSA:
        return ed25519.Ed25519PrivateKey.generate()
    if alg == SigningAlgorithm.ES256:
        return ec.generate_private_key(ec.SECP256R1())
    raise ValidationError({"alg": [f"must be one of {', '.join(SigningAlgorithm)}"]})


def _published(key: SigningKey, now: dt.datetime) -> bool:
    if key.status == KeyStatus.ACTIVE:
        return True
    if key.status == KeyStatus.VERIFY_ONLY:
        return key.publish_until is None or key.publish_until > now
    return False


def _info(key: SigningKey, now: dt.datetime) -> KeyInfo:
    return KeyInfo(
        kid=key.kid,
        alg=key.alg,
        status=key.status,
        published=_published(key, now),
        created_at=key.created_at,
        created_by=key.created_by,
        rotated_at=key.rotated_at,
        publish_until=key.publish_until,
        retired_at=key.retired_at,
        retired_reason=key.retired_reason,
    )


def _active_row(session: Session) -> SigningKey | None:
    return session.scalars(
        select(SigningKey).where(SigningKey.status == KeyStatus.ACTIVE).with_for_update()
    ).first()


def _new_key(session: Session, kek: bytes, alg: str, actor: str, now: dt.datetime) -> SigningKey:
    private_key = generate_private_key(alg)
    jwk = public_jwk(private_key)
    kid = thumbprint(jwk)
    key = SigningKey(
        kid=kid,
        alg=alg,
        public_jwk={**jwk, "kid": kid, "alg": alg, "use": "sig"},
        private_key_sealed=seal(private_key, kek, kid),
        status=KeyStatus.ACTIVE,
        created_at=now,
        created_by=actor,
    )
    session.add(key)
    return key


def create_key(
    session: Session, kek: bytes, *, actor: str, alg: str = DEFAULT_ALGORITHM
) -> KeyInfo:
    """Create the first active signing key.

    Raises:
        SigningKeyError: a key is already active (rotate instead).
        ValidationError: an unsupported algorithm.
    """

    def transaction() -> KeyInfo:
        now = _now()
        with write_transaction(session):
            if _active_row(session) is not None:
                raise SigningKeyError("a signing key is already active; rotate it instead")
            key = _new_key(session, kek, alg, actor, now)
            session.flush()
            return _info(key, now)

    try:
        return run_with_retries(transaction)
    finally:
        forget_active_key()


def ensure_active_key(
    session: Session, kek: bytes, *, actor: str, alg: str = DEFAULT_ALGORITHM
) -> KeyInfo:
    """Return the active signing key, creating one if there is none (development servers).

    Raises:
        ValidationError: an unsupported algorithm.
    """

    def transaction() -> KeyInfo:
        now = _now()
        with write_transaction(session):
            key = _active_row(session)
            if key is None:
                key = _new_key(session, kek, alg, actor, now)
                session.flush()
            return _info(key, now)

    # A concurrent creator wins the unique index; the retry then finds its key.
    try:
        return run_with_retries(transaction)
    finally:
        forget_active_key()


def _latest_expiry(session: Session, kid: str) -> dt.datetime | None:
    return session.scalar(select(func.max(Attestation.expires_at)).where(Attestation.kid == kid))


def rotate_key(
    session: Session, kek: bytes, *, actor: str, alg: str | None = None
) -> tuple[KeyInfo, KeyInfo | None]:
    """Make a new active key; the old one verifies (stays published) until its tokens expire.

    ``publish_until`` of the old key is the later of its last token's expiry and now plus the
    current token lifetime, which also covers a token being signed while the rotation commits.
    Returns the new key and the one it replaced (``None`` if there was none).

    Raises:
        ValidationError: an unsupported algorithm.
    """
    lifetime = token_lifetime()

    def transaction() -> tuple[KeyInfo, KeyInfo | None]:
        now = _now()
        with write_transaction(session):
            old = _active_row(session)
            if old is not None:
                latest = _latest_expiry(session, old.kid)
                old.status = KeyStatus.VERIFY_ONLY
                old.rotated_at = now
                old.rotated_by = actor
                margin = dt.timedelta(seconds=ACTIVE_KEY_TTL)
                old.publish_until = max(filter(None, [latest, now + lifetime + margin]))
                # The old key leaves "active" before the new one enters it (one active key).
                session.flush()
            new = _new_key(session, kek, alg or (old.alg if old else DEFAULT_ALGORITHM), actor, now)
            session.flush()
            return _info(new, now), (_info(old, now) if old is not None else None)

    try:
        return run_with_retries(transaction)
    finally:
        forget_active_key()


def retire_key(session: Session, kid: str, *, reason: str, actor: str) -> KeyInfo:
    """Withdraw a key from the JWKS now; tokens it signed stop verifying (``key-retired``) and
    their public status is ``revoked`` (reason ``key-retired``).

    Returns only once no worker anywhere can sign with the key any more: a key rotated less
    than ``ACTIVE_KEY_TTL + RETIRE_MARGIN`` seconds ago may still be remembered as the active
    one by another process, so the call waits out the rest of that time first.

    Raises:
        UnknownSigningKeyError: no such kid.
        SigningKeyError: it is the active key (rotate first), or already retired.
        ValidationError: no reason given, or one longer than 2,000 characters.
    """
    try:
        reason = parse_reason(reason)
    except ValueError as exc:
        raise ValidationError({"reason": [str(exc)]}) from None
    now = _now()
    with write_transaction(session):
        key = session.get(SigningKey, kid, with_for_update=True)
        if key is None:
            raise UnknownSigningKeyError(f"no signing key {kid}")
        if key.status == KeyStatus.ACTIVE:
            raise SigningKeyError("this key is active; rotate to a new key before retiring it")
        if key.status == KeyStatus.RETIRED:
            raise SigningKeyError("this key is already retired")
        key.status = KeyStatus.RETIRED
        key.retired_at = now
        key.retired_by = actor
        key.retired_reason = reason
        info = _info(key, now)
        # Its tokens now read revoked (key-retired) in the status lists too: their lists'
        # versions move on in this transaction, so no server serves an older list.
        signed = session.scalars(
            select(Attestation.status_position).where(Attestation.kid == kid)
        ).all()
        note_status_list_changes(session, signed, now)
    forget_active_key()
    if info.rotated_at is not None:
        remembered_until = info.rotated_at + dt.timedelta(seconds=ACTIVE_KEY_TTL + RETIRE_MARGIN)
        wait = (remembered_until - _now()).total_seconds()
        if wait > 0:
            _sleep(wait)
    return info


def list_keys(session: Session) -> list[KeyInfo]:
    """Every signing key, newest first."""
    now = _now()
    with read_transaction(session):
        keys = session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc()))
        return [_info(k, now) for k in keys]


def get_jwks(session: Session, now: dt.datetime | None = None) -> dict[str, Any]:
    """The published JWK Set: every key that may still verify a live token.

    The extra member ``retired`` lists kids that no longer verify anything (JWK Set consumers
    ignore members they do not know, RFC 7517 section 5), so our verifier can tell a withdrawn
    key from one it never heard of.
    """
    now = now or _now()
    with read_transaction(session):
        keys = list(session.scalars(select(SigningKey).order_by(SigningKey.created_at)))
    return {
        "keys": [dict(k.public_jwk) for k in keys if _published(k, now)],
        "retired": [k.kid for k in keys if not _published(k, now)],
    }


# Opened private keys, by kid: unsealing per signature would cost more than signing.
_opened: dict[tuple[str, bytes], LoadedKey] = {}


# Which key is active, per database and KEK, remembered for ACTIVE_KEY_TTL seconds: one query
# less per issuance. Key changes made in this process clear it at once; another process may
# go on signing with a just-rotated key for up to the TTL, which rotation allows for (the old
# key stays published ACTIVE_KEY_TTL longer than the lifetime of a token signed at rotation).
_active: dict[tuple[str, bytes], tuple[float, LoadedKey]] = {}


_cache_lock = threading.Lock()


_clock = time.monotonic


_sleep = time.sleep


def forget_active_key() -> None:
    """Drop the remembered active key (after a key change in this process)."""
    with _cache_lock:
        _active.clear()


def active_signing_key(session: Session, kek: bytes) -> LoadedKey:
    """The active key, opened, in the caller's transaction (remembered for a few seconds).

    Raises:
        SigningKeyError: no key is active (``cehours keys create``).
        KeyEncryptionKeyError: the KEK does not open it.
    """
    kek_id = hashlib.sha256(kek).digest()
    where = (session.get_bind().engine.url.render_as_string(hide_password=True), kek_id)
    asked_at = _clock()
    remembered = _active.get(where)
    if remembered is not None and remembered[0] > asked_at:
        return remembered[1]
    # Remembered from before the query: no process remembers a key as active for longer than
    # ACTIVE_KEY_TTL after it stopped being so (retire_key relies on it).
    row = session.execute(
        select(SigningKey.kid, SigningKey.alg, SigningKey.private_key_sealed).where(
            SigningKey.status == KeyStatus.ACTIVE
        )
    ).first()
    if row is None:
        raise SigningKeyError("no active signing key; create one with `cehours keys create`")
    kid, alg, sealed = row
    loaded = _opened.get((kid, kek_id))
    if loaded is None:
        loaded = LoadedKey(kid, alg, unseal(sealed, kek, kid))
    with _cache_lock:
        _opened[(kid, kek_id)] = loaded
        _active[where] = (asked_at + ACTIVE_KEY_TTL, loaded)
    return loaded
