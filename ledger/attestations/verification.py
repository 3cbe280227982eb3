"""Offline verification of attestation tokens: fails closed, one reason code per failure.

Needs only the token, the issuer's published JWK Set and (optionally) the applicant's ID number
and the status document fetched from ``/v1/attestations/{jti}/status``; it makes no network call
itself, so the CLI, the public verification page and a filing system's own code can all use it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import functools
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.exceptions import (
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
    PyJWKError,
)

from ledger.attestations.jose import SigningAlgorithm
from ledger.attestations.status import AttestationState
from ledger.attestations.status_bits import decode, status_at
from ledger.attestations.status_lists import STATES, STATUS_LIST_TYPE
from ledger.attestations.tokens import TOKEN_TYPE, id_binding_hash

# Pinned: only these, never "none" or an HMAC algorithm (a public key is no secret).
_ACCEPTED = tuple(SigningAlgorithm)


_KEY_SHAPE = {SigningAlgorithm.EDDSA: ("OKP", "Ed25519"), SigningAlgorithm.ES256: ("EC", "P-256")}


REQUIRED_CLAIMS = ("iss", "sub", "iat", "nbf", "exp", "jti")


DEFAULT_LEEWAY = dt.timedelta(seconds=60)


class VerificationCode(enum.StrEnum):
    """The outcome of verifying a token: ``OK``, or why it failed (stable codes)."""

    OK = "ok"
    MALFORMED = "malformed"
    WRONG_ALG = "wrong-alg"
    WRONG_TYP = "wrong-typ"
    UNKNOWN_KID = "unknown-kid"
    KEY_RETIRED = "key-retired"
    BAD_SIGNATURE = "bad-signature"
    MISSING_CLAIM = "missing-claim"
    WRONG_ISSUER = "wrong-issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    ID_MISMATCH = "id-mismatch"
    STALE = "stale"
    REVOKED = "revoked"
    STATUS_UNKNOWN = "status-unknown"


MESSAGES = {
    VerificationCode.OK: "the attestation is genuine, unaltered and live",
    VerificationCode.MALFORMED: "this is not a well-formed JWS compact token",
    VerificationCode.WRONG_ALG: (
        "the token's algorithm is not one we accept (EdDSA, ES256) or not its key's"
    ),
    VerificationCode.WRONG_TYP: f"the token's typ is not {TOKEN_TYPE}",
    VerificationCode.UNKNOWN_KID: "the token's key id is not in the issuer's JWK Set",
    VerificationCode.KEY_RETIRED: "the token was signed by a key the issuer has retired",
    VerificationCode.BAD_SIGNATURE: "the signature does not match: the token was altered or forged",
    VerificationCode.MISSING_CLAIM: "a required claim is missing",
    VerificationCode.WRONG_ISSUER: "the token was issued by someone else",
    VerificationCode.EXPIRED: "the token has expired",
    VerificationCode.NOT_YET_VALID: "the token is not valid yet",
    VerificationCode.ID_MISMATCH: "the token is about a different ID number",
    VerificationCode.STALE: (
        "an entry the attestation counted was reversed or superseded; re-issue it"
    ),
    VerificationCode.REVOKED: "the issuer has revoked this attestation",
    VerificationCode.STATUS_UNKNOWN: "the status document does not say this attestation is valid",
}


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome: ``ok`` only when every check passed. ``claims`` only once the signature did."""

    ok: bool
    reason: str
    message: str
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (claims included only when the signature was good)."""
        return {
            "ok": self.ok,
            "reason": self.reason,
            "message": self.message,
            "kid": self.header.get("kid"),
            "jti": self.claims.get("jti"),
            "claims": self.claims or None,
        }


def _fail(
    reason: VerificationCode, header: Mapping[str, Any] | None = None, **claims: Any
) -> Verification:
    return Verification(False, reason, MESSAGES[reason], dict(header or {}), dict(claims))


def _jwk_for(jwks: Mapping[str, Any], kid: str) -> Mapping[str, Any] | None:
    for key in jwks.get("keys") or []:
        if isinstance(key, Mapping) and key.get("kid") == kid:
            return key
    return None


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def _unverified_header(token: str) -> dict[str, Any] | None:
    """The protected header, read as strictly as PyJWT reads it (unpadded, canonical base64url,
    a JSON object), or ``None``. Only the header segment is decoded: PyJWT's own
    ``get_unverified_header`` decodes and checks the whole token, which ``jwt.decode`` then
    does again."""
    segment = token.split(".", 1)[0]
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=") != segment.encode("ascii"):
            return None
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return header if isinstance(header, dict) else None


@functools.lru_cache(maxsize=64)
def _key(jwk_json: str, alg: str) -> jwt.PyJWK:
    # Building a key object from its JWK costs more than verifying a signature with it.
    return jwt.PyJWK(json.loads(jwk_json), algorithm=alg)


def verify_token(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    id_number: str | None = None,
    status: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    leeway: dt.timedelta = DEFAULT_LEEWAY,
) -> Verification:
    """Verify an attestation token against a JWK Set; never raises for a bad token.

    Checks, in order: structure, ``alg`` (pinned), ``typ``, ``kid`` (retired or unknown), the
    key's type against ``alg``, the signature, required claims, issuer, ``exp`` and ``nbf``;
    then, when given, the ID number against ``id_binding`` and the status document.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        return _fail(VerificationCode.MALFORMED)
    header = _unverified_header(token)
    if header is None:
        return _fail(VerificationCode.MALFORMED)
    key = _key_of(header, jwks)
    if isinstance(key, VerificationCode):
        return _fail(key, header)
    moment = now or dt.datetime.now(dt.UTC)
    claims = _decode(token, key, header["alg"], issuer)
    if isinstance(claims, VerificationCode):
        return _fail(claims, header)
    problem = _check_times(claims, moment, leeway)
    if problem is None and id_number is not None:
        problem = _check_binding(claims, id_number)
    if problem is None and status is not None:
        problem = _check_status(claims, status)
    if problem is not None:
        return _fail(problem, header, **claims)
    return Verification(
        True, VerificationCode.OK, MESSAGES[VerificationCode.OK], dict(header), claims
    )


def _key_of(
    header: Mapping[str, Any], jwks: Mapping[str, Any], typ: str = TOKEN_TYPE
) -> jwt.PyJWK | VerificationCode:
    """The key that should have signed a token with this header: checks ``alg`` (pinned),
    ``typ``, ``kid`` (retired or unknown) and the key's type against ``alg``."""
    alg = header.get("alg")
    if alg not in _ACCEPTED:
        return VerificationCode.WRONG_ALG
    if header.get("typ") != typ:
        return VerificationCode.WRONG_TYP
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        return VerificationCode.UNKNOWN_KID
    jwk = _jwk_for(jwks, kid)
    if jwk is None:
        retired = jwks.get("retired") or []
        return VerificationCode.KEY_RETIRED if kid in retired else VerificationCode.UNKNOWN_KID
    if (jwk.get("kty"), jwk.get("crv")) != _KEY_SHAPE[alg] or jwk.get("alg", alg) != alg:
        return VerificationCode.WRONG_ALG
    try:
        return _key(json.dumps(jwk, sort_keys=True), alg)
    except (PyJWKError, InvalidTokenError, ValueError, TypeError):
        return VerificationCode.UNKNOWN_KID


def _decode(token: str, key: jwt.PyJWK, alg: str, issuer: str) -> dict[str, Any] | VerificationCode:
    """The claims, once the signature, the required claims and the issuer are good."""
    try:
        # Signature first (PyJWT checks it before any claim), with time checks done by us
        # against ``now`` so that callers and tests can verify as of a given moment.
        return jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=issuer,
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
            },
        )
    except InvalidSignatureError:
        return VerificationCode.BAD_SIGNATURE
    except MissingRequiredClaimError:
        return VerificationCode.MISSING_CLAIM
    except InvalidIssuerError:
        return VerificationCode.WRONG_ISSUER
    except InvalidTokenError:
        # A signature that verified over a payload that is not JSON, or claims of wrong types.
        return VerificationCode.MALFORMED


def _check_binding(claims: Mapping[str, Any], id_number: str) -> VerificationCode | None:
    """Whether the token is about the applicant whose ID number the verifier knows."""
    binding = claims.get("id_binding")
    if not isinstance(binding, Mapping) or not isinstance(binding.get("salt"), str):
        return VerificationCode.MISSING_CLAIM
    expected = id_binding_hash(binding["salt"], id_number)
    if not hmac.compare_digest(expected, str(binding.get("hash", ""))):
        return VerificationCode.ID_MISMATCH
    return None


def _check_status(claims: Mapping[str, Any], status: Mapping[str, Any]) -> VerificationCode | None:
    """Whether the status document is this attestation's and says it is valid."""
    state = status.get("status")
    if status.get("jti") not in (None, claims["jti"]):
        return VerificationCode.STATUS_UNKNOWN
    if state == AttestationState.STALE:
        return VerificationCode.STALE
    if state == AttestationState.REVOKED:
        return VerificationCode.REVOKED
    if state != AttestationState.VALID:
        return VerificationCode.STATUS_UNKNOWN
    return None


def _check_times(
    claims: Mapping[str, Any], now: dt.datetime, leeway: dt.timedelta
) -> VerificationCode | None:
    try:
        exp = int(claims["exp"])
        nbf = int(claims["nbf"])
        int(claims["iat"])
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite time
        return VerificationCode.MALFORMED
    stamp = now.timestamp()
    slack = leeway.total_seconds()
    if stamp >= exp + slack:
        return VerificationCode.EXPIRED
    if stamp < nbf - slack:
        return VerificationCode.NOT_YET_VALID
    return None


class StatusListError(ValueError):
    """A status list token that cannot be relied on; the message says why."""


@dataclass(frozen=True, slots=True)
class StatusList:
    """A verified status list token: its URI, when it was issued, how long it may be cached,
    and its statuses."""

    uri: str
    iat: int
    ttl: int | None
    bits: int
    raw: bytes

    def fresh(self, now: dt.datetime) -> bool:
        """Whether a copy fetched before may still be used (``iat + ttl`` not passed)."""
        return self.ttl is not None and now.timestamp() < self.iat + self.ttl

    def document(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        """The status of the attestation ``claims`` describe, as a status document
        ``{"jti", "status"}`` for :func:`verify_token` (``unknown`` if the list has no such
        index, or a value we do not define)."""
        reference = status_reference(claims)
        state = "unknown"
        if reference is not None and reference[1] == self.uri:
            try:
                state = str(STATES.get(status_at(self.raw, reference[0], self.bits), "unknown"))
            except ValueError:
                state = "unknown"
        return {"jti": claims.get("jti"), "status": state}


def status_reference(claims: Mapping[str, Any]) -> tuple[int, str] | None:
    """The ``(idx, uri)`` of an attestation's ``status.status_list`` claim, if it has one."""
    status = claims.get("status")
    reference = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(reference, Mapping):
        return None
    idx, uri = reference.get("idx"), reference.get("uri")
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0 or not isinstance(uri, str):
        return None
    return idx, uri


def read_status_list(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    uri: str,
    now: dt.datetime | None = None,
    leeway: dt.timedelta = DEFAULT_LEEWAY,
) -> StatusList:
    """Verify a status list token (IETF Token Status List, ``typ`` ``statuslist+jwt``) fetched
    from ``uri``: the header and key as for an attestation, the signature, ``iss``, ``sub``
    equal to ``uri``, ``iat``, ``exp`` when present, then decode its list.

    Raises:
        StatusListError: any of these checks failed.
    """
    header = _unverified_header(token) if isinstance(token, str) else None
    if header is None or token.count(".") != 2:
        raise StatusListError(VerificationCode.MALFORMED)
    key = _key_of(header, jwks, STATUS_LIST_TYPE)
    if isinstance(key, VerificationCode):
        raise StatusListError(key)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[header["alg"]],
            issuer=issuer,
            options={
                "require": ["sub", "iat"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_aud": False,
            },
        )
    except InvalidTokenError as exc:
        raise StatusListError(f"the status list token is not acceptable: {exc}") from None
    exp = claims.get("exp")
    moment = (now or dt.datetime.now(dt.UTC)).timestamp()
    if exp is not None and (not isinstance(exp, int) or moment >= exp + leeway.total_seconds()):
        raise StatusListError("the status list token has expired")
    return _list_of(claims, uri)


def _list_of(claims: Mapping[str, Any], uri: str) -> StatusList:
    if claims.get("sub") != uri:
        raise StatusListError("the status list token is not the one the attestation names")
    listed = claims.get("status_list")
    if not isinstance(listed, Mapping) or listed.get("bits") not in (1, 2, 4, 8):
        raise StatusListError("the status list token has no valid status_list")
    ttl = claims.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0):
        raise StatusListError("the status list token's ttl is not a positive whole number")
    try:
        raw = decode(str(listed.get("lst")))
    except ValueError as exc:
        raise StatusListError(str(exc)) from None
    return StatusList(uri, int(claims["iat"]), ttl, int(listed["bits"]), raw)


def load_jwks(text: str) -> dict[str, Any]:
    """Parse a JWK Set document.

    Raises:
        ValueError: it is not JSON with a ``keys`` list.
    """
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWK Set is a JSON object with a 'keys' list")
    return document
