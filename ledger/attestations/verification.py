"""Offline verification of attestation tokens: fails closed, one reason code per failure.

Needs only the token, the issuer's published JWK Set and (optionally) the applicant's ID number
and the status document fetched from ``/v1/attestations/{jti}/status``; it makes no network call
itself, so the CLI, the public verification page and a filing system's own code can all use it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
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

from ledger.attestations.tokens import TOKEN_TYPE, id_binding_hash

# Pinned: only these, never "none" or an HMAC algorithm (a public key is no secret).
ALGORITHMS = ("EdDSA", "ES256")


_KEY_SHAPE = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}


REQUIRED_CLAIMS = ("iss", "sub", "iat", "nbf", "exp", "jti")


DEFAULT_LEEWAY = dt.timedelta(seconds=60)


class Reason:
    """Why verification failed (stable codes; ``OK`` when it did not)."""

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
    Reason.OK: "the attestation is genuine, unaltered and live",
    Reason.MALFORMED: "this is not a well-formed JWS compact token",
    Reason.WRONG_ALG: "the token's algorithm is not one we accept (EdDSA, ES256) or not its key's",
    Reason.WRONG_TYP: f"the token's typ is not {TOKEN_TYPE}",
    Reason.UNKNOWN_KID: "the token's key id is not in the issuer's JWK Set",
    Reason.KEY_RETIRED: "the token was signed by a key the issuer has retired",
    Reason.BAD_SIGNATURE: "the signature does not match: the token was altered or forged",
    Reason.MISSING_CLAIM: "a required claim is missing",
    Reason.WRONG_ISSUER: "the token was issued by someone else",
    Reason.EXPIRED: "the token has expired",
    Reason.NOT_YET_VALID: "the token is not valid yet",
    Reason.ID_MISMATCH: "the token is about a different ID number",
    Reason.STALE: "an entry the attestation counted was reversed or superseded; re-issue it",
    Reason.REVOKED: "the issuer has revoked this attestation",
    Reason.STATUS_UNKNOWN: "the status document does not say this attestation is valid",
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


def _fail(reason: str, header: Mapping[str, Any] | None = None, **claims: Any) -> Verification:
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
        return _fail(Reason.MALFORMED)
    header = _unverified_header(token)
    if header is None:
        return _fail(Reason.MALFORMED)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        return _fail(Reason.WRONG_ALG, header)
    if header.get("typ") != TOKEN_TYPE:
        return _fail(Reason.WRONG_TYP, header)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        return _fail(Reason.UNKNOWN_KID, header)
    jwk = _jwk_for(jwks, kid)
    if jwk is None:
        retired = jwks.get("retired") or []
        return _fail(Reason.KEY_RETIRED if kid in retired else Reason.UNKNOWN_KID, header)
    if (jwk.get("kty"), jwk.get("crv")) != _KEY_SHAPE[alg] or jwk.get("alg", alg) != alg:
        return _fail(Reason.WRONG_ALG, header)
    try:
        key = _key(json.dumps(jwk, sort_keys=True), alg)
    except (PyJWKError, InvalidTokenError, ValueError, TypeError):
        return _fail(Reason.UNKNOWN_KID, header)
    moment = now or dt.datetime.now(dt.UTC)
    try:
        # Signature first (PyJWT checks it before any claim), with time checks done by us
        # against ``now`` so that callers and tests can verify as of a given moment.
        claims = jwt.decode(
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
        return _fail(Reason.BAD_SIGNATURE, header)
    except MissingRequiredClaimError:
        return _fail(Reason.MISSING_CLAIM, header)
    except InvalidIssuerError:
        return _fail(Reason.WRONG_ISSUER, header)
    except InvalidTokenError:
        # A signature that verified over a payload that is not JSON, or claims of wrong types.
        return _fail(Reason.MALFORMED, header)
    timing = _check_times(claims, moment, leeway)
    if timing is not None:
        return _fail(timing, header, **claims)
    if id_number is not None:
        binding = claims.get("id_binding")
        if not isinstance(binding, Mapping) or not isinstance(binding.get("salt"), str):
            return _fail(Reason.MISSING_CLAIM, header, **claims)
        expected = id_binding_hash(binding["salt"], id_number)
        if not hmac.compare_digest(expected, str(binding.get("hash", ""))):
            return _fail(Reason.ID_MISMATCH, header, **claims)
    if status is not None:
        state = status.get("status")
        if status.get("jti") not in (None, claims["jti"]):
            return _fail(Reason.STATUS_UNKNOWN, header, **claims)
        if state == "stale":
            return _fail(Reason.STALE, header, **claims)
        if state == "revoked":
            return _fail(Reason.REVOKED, header, **claims)
        if state != "valid":
            return _fail(Reason.STATUS_UNKNOWN, header, **claims)
    return Verification(True, Reason.OK, MESSAGES[Reason.OK], dict(header), claims)


def _check_times(claims: Mapping[str, Any], now: dt.datetime, leeway: dt.timedelta) -> str | None:
    try:
        exp = int(claims["exp"])
        nbf = int(claims["nbf"])
        int(claims["iat"])
    except (TypeError, ValueError):
        return Reason.MALFORMED
    stamp = now.timestamp()
    slack = leeway.total_seconds()
    if stamp >= exp + slack:
        return Reason.EXPIRED
    if stamp < nbf - slack:
        return Reason.NOT_YET_VALID
    return None


def load_jwks(text: str) -> dict[str, Any]:
    """Parse a JWK Set document.

    Raises:
        ValueError: it is not JSON with a ``keys`` list.
    """
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWK Set is a JSON object with a 'keys' list")
    return document
