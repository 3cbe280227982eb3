"""The attestation token: its claims, the ID binding, and the compact JWS we sign."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from ledger.attestations.signing_keys import LoadedKey
from ledger.canonical import canonical_bytes
from ledger.values.id_numbers import mask_id_number, normalise_id_number

TOKEN_TYPE = "ce-attestation+jwt"  # noqa: S105 (a JOSE media type, not a password)


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
    # R6: whose hours were of record ({"hours_of_record": a source kind, "industry_platform":
    # whether the person's industry platform prevailed, ...}); None where not evaluated so.
    source_policy: Any = None


def id_binding_hash(salt: str, id_number: str) -> str:
    """SHA-256 hex of the salt followed by the (upper-case) ID number: what ``id_binding`` holds."""
    return hashlib.sha256((salt + normalise_id_number(id_number)).encode("utf-8")).hexdigest()


ISSUER_ENV = "CEHOURS_ISSUER"


DEFAULT_ISSUER = "https://cehours.example/"


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
    status: Mapping[str, Any] | None = None,
    log: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The claims of an attestation token (see the README's "Attestations" for each one);
    ``status`` is the IETF Token Status List reference (``ledger.attestations.status_lists``),
    ``log`` the log checkpoint it was read at (:func:`ledger.log.binding.log_claim`)."""
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
    if evaluated.source_policy is not None:
        claims["source_policy"] = evaluated.source_policy
    if application_ref is not None:
        claims["application_ref"] = application_ref
    if status is not None:
        claims["status"] = dict(status)
    if log is not None:
        claims["log"] = dict(log)
    return claims


def _claims_default(o: Any) -> Any:
    # orjson writes dates itself (ISO form); decimals go out as strings, as ClaimsEncoder does.
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_claims(claims: Mapping[str, Any], key: LoadedKey) -> str:
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
