"""Status lists (IETF Token Status List): ``GET /v1/status-lists/{id}``, no credential.

One signed list token (``typ`` ``statuslist+jwt``) carries the 2-bit status of up to 2**20
attestations; a filing system holding many tokens downloads the list once and reads each
token's bits at the ``idx`` of its ``status.status_list`` claim (``ledger.attestations.
status_lists``; the values are in ``ledger.attestations.status_bits``).
"""

from __future__ import annotations

from flask import Response, current_app, request

from api import issuance
from api.errors import Problem
from api.reads import read_session, replica_reads
from api.resources.base import Blueprint
from ledger.attestations.status_lists import (
    MEDIA_TYPE,
    TTL,
    get_status_list_token,
    status_list_exists,
    status_list_uri,
    token_etag,
)
from ledger.attestations.tokens import configured_issuer
from ledger.errors import KeyEncryptionKeyError, SigningKeyError, UnknownStatusListError

blp = Blueprint(
    "status_lists",
    __name__,
    description="Signed lists of attestation statuses (IETF Token Status List), for anyone.",
)

_TOKEN = {
    "type": "string",
    "description": "a JWT (JWS compact), header typ `statuslist+jwt`; claims `iss`, `sub` (this"
    " URL), `iat`, `exp`, `ttl` and `status_list` `{bits: 2, lst}` (ZLIB-compressed,"
    " base64url): 0 valid, 1 revoked, 3 stale",
    "example": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiIsInR5cCI6InN0YXR1c2xpc3Qrand0In0.eyJ...",
}


@blp.route("/v1/status-lists/<int:list_id>")
@blp.response(200, _TOKEN, content_type=MEDIA_TYPE)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@replica_reads
def status_list(list_id: int) -> Response:
    """A signed status list (no credential, no personal data)

    The status of every attestation whose `status.status_list.uri` is this URL, 2 bits each
    at its `idx`: `0` valid, `1` revoked (the draft's INVALID), `3` stale (an entry it
    counted was reversed or superseded). Cache it for `ttl` seconds (also `Cache-Control`);
    `If-None-Match` with the `ETag` answers 304 while it has not changed.
    """
    issuance.ensure_dev_key()
    uri = status_list_uri(issuance.public_base(), list_id)
    try:
        kek = issuance.key_encryption_key()
    except Problem:
        # Nothing can be signed here; but a list that does not exist is still a 404.
        if not status_list_exists(read_session(), list_id):
            raise UnknownStatusListError("no status list with this id") from None
        raise
    try:
        token = get_status_list_token(
            read_session(), list_id, uri=uri, issuer=configured_issuer(), kek=kek
        )
    except (SigningKeyError, KeyEncryptionKeyError) as exc:
        raise Problem(
            503, f"Status lists cannot be signed now: {exc}", code="signing-unavailable"
        ) from None
    response = current_app.response_class(token, mimetype=MEDIA_TYPE)
    response.set_etag(token_etag(token))
    response.headers["Cache-Control"] = f"public, max-age={TTL}"
    response.make_conditional(request)
    return response
