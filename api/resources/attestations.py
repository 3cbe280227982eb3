"""Signed attestations: the JWK Set, issuing, fetching, public status and revocation.

Signing goes through :mod:`api.issuance` (the key-encryption key, the development key, 503 when
nothing can be signed), shared with ``POST /v1/me/attestations`` and the printable proof.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import marshmallow as ma
from flask import Response, after_this_request, request

from api import issuance, metrics
from api.auth import current_client, require_role
from api.db import db_session
from api.fields import IdNumber, IsoDate, Reason
from api.reads import read_session, replica_reads
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.attestations import signing_keys
from ledger.attestations.issuance import Issued
from ledger.attestations.status import (
    AttestationInfo,
    AttestationState,
    StatusInfo,
    StatusReason,
    get_attestation,
    get_attestation_status,
    get_attestation_status_at,
    revoke_attestation,
)
from ledger.attestations.tables import MAX_APPLICATION_REF

blp = Blueprint(
    "attestations",
    __name__,
    description="Signed attestations of compliance that filing systems verify on their own.",
)

JWKS_MAX_AGE = 300
JWK_SET = "application/jwk-set+json"


class IssueSchema(ma.Schema):
    """Whom to attest, against which profile, as of when, for which application."""

    id_number = IdNumber(who="the applicant", instead="person_id")
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
    as_of = IsoDate(
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


class IssuedSchema(Schema):
    jti = ma.fields.String(required=True, metadata={"description": "the attestation's id"})
    token = ma.fields.String(
        required=True, metadata={"description": "JWS compact (JWT), typ ce-attestation+jwt"}
    )
    compliant = ma.fields.Boolean(required=True)
    expires_at = ma.fields.DateTime(required=True)


class StatusSchema(Schema):
    jti = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([s.value for s in AttestationState]),
        metadata={"description": "stale: an entry it counted was reversed or superseded"},
    )
    reason = ma.fields.String(required=True)
    reason_code = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([r.value for r in StatusReason]),
        metadata={
            "description": "why, as a code: issued (valid), entry-corrected (stale), revoked "
            "(by the issuer), key-retired (revoked: the key that signed it was withdrawn)"
        },
    )
    changed_at = ma.fields.DateTime(
        required=True, metadata={"description": "when it took this status"}
    )
    at = ma.fields.DateTime(
        metadata={"description": "the moment asked about (`?at=`), when one was asked about"}
    )


class StatusQuerySchema(ma.Schema):
    at = ma.fields.AwareDateTime(
        metadata={
            "description": "the status at this moment (ISO 8601 with a time zone), between"
            " the issuance and now; default: now"
        }
    )


class AttestationSchema(Schema):
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
    reason = Reason(required=True)


class JwkSchema(Schema):
    class Meta:
        unknown = ma.INCLUDE

    kty = ma.fields.String(required=True)
    crv = ma.fields.String(required=True)
    x = ma.fields.String(required=True)
    y = ma.fields.String()
    kid = ma.fields.String(required=True, metadata={"description": "RFC 7638 thumbprint"})
    alg = ma.fields.String(required=True, metadata={"example": "EdDSA"})
    use = ma.fields.String(required=True, metadata={"example": "sig"})


class JwksSchema(Schema):
    keys = ma.fields.List(ma.fields.Nested(JwkSchema), required=True)
    retired = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "kids withdrawn from use: tokens they signed must be refused"},
    )


@blp.route("/.well-known/jwks.json")
@blp.response(200, JwksSchema, content_type=JWK_SET)
@replica_reads
def jwks() -> dict[str, Any]:
    """The issuer's public keys (JWK Set)

    Every key that may still verify a live attestation. Cache it (`Cache-Control`, `ETag`);
    fetch it again when a token names a `kid` you do not have. No credential needed.
    """
    issuance.ensure_dev_key()
    after_this_request(_cacheable_publicly)
    return signing_keys.get_jwks(read_session())


def _cacheable_publicly(response: Response) -> Response:
    """``Cache-Control`` and an ``ETag`` for the JWK Set; 304 to a matching ``If-None-Match``.

    The tag is a hash of the set's canonical JSON (members sorted, no spaces), so that it names
    the keys, however the body is laid out.
    """
    if response.status_code != 200:
        return response
    canonical = json.dumps(json.loads(response.get_data()), separators=(",", ":"), sort_keys=True)
    response.set_etag(hashlib.sha256(canonical.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    response.make_conditional(request)
    return response


# Schema instances, not classes: webargs would build a new schema object for every request.
@blp.route("/v1/attestations", methods=["POST"])
@blp.arguments(IssueSchema())
@blp.response(201, IssuedSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@require_role("filing")
def issue(args: dict[str, Any]) -> Issued:
    """Issue an attestation (filing systems)

    Evaluates the profile for the person as of the date and returns a signed token stating
    the result. Verify it offline with the JWK Set at `/.well-known/jwks.json`.
    """
    return issuance.issue_for_client(args)


# POST /v1/me/attestations (individuals, and these keys) lives in api.resources.me.


@blp.route("/v1/attestations/<string:jti>")
@blp.response(200, AttestationSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_role("filing")
@replica_reads
def fetch(jti: str) -> AttestationInfo:
    """Fetch an issued attestation again (filing systems)"""
    return get_attestation(read_session(), jti)


@blp.route("/v1/attestations/<string:jti>/status")
@blp.arguments(StatusQuerySchema, location="query")
@blp.response(200, StatusSchema)
@blp.alt_response(404, response="NOT_FOUND")
@replica_reads
def status(query: dict[str, Any], jti: str) -> tuple[Any, dict[str, str]]:
    """An attestation's status, now or at a past moment (no credential, no personal data)

    `valid`, `stale` (an entry it counted was later reversed or superseded: re-issue it) or
    `revoked`, with a reason and when it took that status. With `?at=2025-03-01T09:30:00+08:00`
    the status it had at that moment (a reviewing office checking the filing date): from the
    audit trail of every status change and its time. 422 for a moment before the issuance or
    in the future.
    """
    at = query.get("at")
    if at is None:
        # A status can change at any moment; caches must ask again every time.
        return get_attestation_status(read_session(), jti), {"Cache-Control": "no-cache"}
    past = get_attestation_status_at(read_session(), jti, at)
    return {**_fields(past), "at": at}, {"Cache-Control": "no-cache"}


def _fields(info: StatusInfo) -> dict[str, Any]:
    return {
        "jti": info.jti,
        "status": info.status,
        "reason": info.reason,
        "reason_code": info.reason_code,
        "changed_at": info.changed_at,
    }


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
