"""Signed attestations: the JWK Set, issuing, fetching, public status and revocation.

The key-encryption key that opens the signing key is read from the environment once per
process (``CEHOURS_KEY_ENCRYPTION_KEY`` or ``..._FILE``); a development server (``DEV``) falls
back to ``var/dev-key-encryption-key`` and creates a signing key on first use, so ``make run``
works with no set-up. Without a usable key, issuing answers 503, never a 500.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import marshmallow as ma
import orjson
from flask import Flask, Response, current_app, request

from api import metrics
from api.auth import current_client, require_role
from api.db import db_session
from api.errors import Problem
from api.resources.base import Blueprint
from ledger.attestations import key_encryption, signing_keys
from ledger.attestations.issuance import Issued, issue_attestation
from ledger.attestations.status import (
    StatusInfo,
    get_attestation,
    get_attestation_status,
    revoke_attestation,
)
from ledger.attestations.tables import MAX_APPLICATION_REF
from ledger.errors import KeyEncryptionKeyError, SigningKeyError

blp = Blueprint(
    "attestations",
    __name__,
    description="Signed attestations of compliance that filing systems verify on their own.",
)

JWKS_MAX_AGE = 300
_KEK = "cehours_kek"
_DEV_KEY_READY = "cehours_dev_signing_key"
_lock = threading.Lock()


class IssueSchema(ma.Schema):
    """Whom to attest, against which profile, as of when, for which application."""

    id_number = ma.fields.String(
        validate=ma.validate.Regexp(r"^[1-9][0-9]{16}[0-9Xx]$"),
        metadata={"description": "the applicant's 18-character ID number (or give person_id)"},
    )
    person_id = ma.fields.String(
        validate=ma.validate.Length(1, 32), metadata={"description": "opaque person id"}
    )
    profile = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 80),
        metadata={
            "description": "profile id, optionally `id@version`",
            "example": "quzhou-annual-90",
        },
    )
    as_of = ma.fields.Date(
        metadata={"description": "evaluate as of this date (default: the profile's, else today)"}
    )
    application_ref = ma.fields.String(
        validate=ma.validate.Length(1, MAX_APPLICATION_REF),
        metadata={"description": "the filing system's own application number; the token binds it"},
    )

    @ma.validates_schema
    def one_person(self, data: dict[str, Any], **_: Any) -> None:
        if ("id_number" in data) == ("person_id" in data):
            raise ma.ValidationError("give exactly one of id_number or person_id", "_schema")


class IssuedSchema(ma.Schema):
    jti = ma.fields.String(required=True, metadata={"description": "the attestation's id"})
    token = ma.fields.String(
        required=True, metadata={"description": "JWS compact (JWT), typ ce-attestation+jwt"}
    )
    compliant = ma.fields.Boolean(required=True)
    expires_at = ma.fields.DateTime(required=True)


class StatusSchema(ma.Schema):
    jti = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["valid", "stale", "revoked"]),
        metadata={"description": "stale: an entry it counted was reversed or superseded"},
    )
    reason = ma.fields.String(required=True)
    changed_at = ma.fields.DateTime(required=True)


class AttestationSchema(ma.Schema):
    jti = ma.fields.String(required=True)
    person_id = ma.fields.String(required=True)
    token = ma.fields.String(required=True)
    compliant = ma.fields.Boolean(required=True)
    profile_id = ma.fields.String(required=True)
    profile_version = ma.fields.String(required=True)
    as_of = ma.fields.Date(required=True)
    application_ref = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    status_reason = ma.fields.String(allow_none=True)
    status_changed_at = ma.fields.DateTime(required=True)
    issued_by = ma.fields.String(required=True)
    issued_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True)


class RevokeSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))


class JwkSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    kty = ma.fields.String(required=True)
    crv = ma.fields.String(required=True)
    x = ma.fields.String(required=True)
    y = ma.fields.String()
    kid = ma.fields.String(required=True, metadata={"description": "RFC 7638 thumbprint"})
    alg = ma.fields.String(required=True, metadata={"example": "EdDSA"})
    use = ma.fields.String(required=True, metadata={"example": "sig"})


class JwksSchema(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(JwkSchema), required=True)
    retired = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "kids withdrawn from use: tokens they signed must be refused"},
    )


def _kek(app: Flask) -> bytes:
    kek: bytes | None = app.extensions.get(_KEK)
    if kek is None:
        dev_dir = Path("var") if app.config.get("DEV") else None
        try:
            kek = key_encryption.load_kek(dev_dir=dev_dir)
        except KeyEncryptionKeyError as exc:
            raise Problem(
                503, f"Attestations are not configured: {exc}", code="signing-unavailable"
            ) from None
        app.extensions[_KEK] = kek
    return kek


def _ensure_dev_key() -> None:
    """On a development server, create a signing key the first time one is needed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("DEV") or app.extensions.get(_DEV_KEY_READY):
        return
    with _lock:
        signing_keys.ensure_active_key(db_session(), _kek(app), actor="dev-server")
        app.extensions[_DEV_KEY_READY] = True


@blp.route("/.well-known/jwks.json")
@blp.response(200, JwksSchema, content_type="application/jwk-set+json")
def jwks() -> Response:
    """The issuer's public keys (JWK Set)

    Every key that may still verify a live attestation. Cache it (`Cache-Control`, `ETag`);
    fetch it again when a token names a `kid` you do not have. No credential needed.
    """
    _ensure_dev_key()
    document = signing_keys.get_jwks(db_session())
    body = json.dumps(document, separators=(",", ":"), sort_keys=True)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    response = current_app.response_class(body, mimetype="application/jwk-set+json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    response.make_conditional(request)
    return response


def issued_response(issued: Issued) -> Response:
    """201 with ``{jti, token, compliant, expires_at}``, as ``IssuedSchema`` documents it.

    Written directly: dumping it through the schema and ``jsonify`` cost more than the rest of
    the response, for the same four fields.
    """
    return current_app.response_class(
        orjson.dumps(issued.to_dict()), status=201, mimetype="application/json"
    )


def _issue(args: dict[str, Any]) -> Issued:
    _ensure_dev_key()
    client = current_client()
    try:
        issued = issue_attestation(
            db_session(),
            args.get("person_id"),
            args["profile"],
            args.get("as_of"),
            args.get("application_ref"),
            f"client:{client.id}:{client.name}",
            id_number=args.get("id_number"),
            kek=_kek(current_app._get_current_object()),  # type: ignore[attr-defined]
        )
    except (SigningKeyError, KeyEncryptionKeyError) as exc:
        raise Problem(
            503, f"Attestations cannot be signed now: {exc}", code="signing-unavailable"
        ) from None
    metrics.count_issued(args["profile"], issued.compliant)
    return issued


# Schema instances, not classes: webargs would build a new schema object for every request.
@blp.route("/v1/attestations", methods=["POST"])
@blp.arguments(IssueSchema())
@blp.response(201, IssuedSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@require_role("filing")
def issue(args: dict[str, Any]) -> Response:
    """Issue an attestation (filing systems)

    Evaluates the profile for the person as of the date and returns a signed token stating
    the result. Verify it offline with the JWK Set at `/.well-known/jwks.json`.
    """
    return issued_response(_issue(args))


# POST /v1/me/attestations (individuals, and these keys) lives in api.resources.me.


@blp.route("/v1/attestations/<string:jti>")
@blp.response(200, AttestationSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_role("filing")
def fetch(jti: str) -> Any:
    """Fetch an issued attestation again (filing systems)"""
    return get_attestation(db_session(), jti)


@blp.route("/v1/attestations/<string:jti>/status")
@blp.response(200, StatusSchema)
@blp.alt_response(404, response="NOT_FOUND")
def status(jti: str) -> Response:
    """An attestation's status (no credential, no personal data)

    `valid`, `stale` (an entry it counted was later reversed or superseded: re-issue it) or
    `revoked`, with a reason and when it last changed.
    """
    body = get_attestation_status(db_session(), jti).to_dict()
    response = current_app.response_class(json.dumps(body), mimetype="application/json")
    # A status can change at any moment; caches must ask again every time.
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.route("/v1/attestations/<string:jti>/revocation", methods=["POST"])
@blp.arguments(RevokeSchema)
@blp.response(200, StatusSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@require_role("admin")
def revoke(args: dict[str, Any], jti: str) -> StatusInfo:
    """Revoke an attestation (administrators)

    Final: its status becomes `revoked`, and the reason is kept in the audit trail.
    """
    client = current_client()
    revoked = revoke_attestation(
        db_session(), jti, reason=args["reason"], actor=f"client:{client.id}:{client.name}"
    )
    metrics.count_status_change("revoked")
    return revoked
