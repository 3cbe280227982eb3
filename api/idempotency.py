"""The ``Idempotency-Key`` header: a retried request gets the first response again.

The first successful response to (client, key) is stored with a fingerprint of the request
(method, path, query, body bytes). The same key with the same request replays it, marked
``Idempotent-Replayed: true``; the same key with a different request is a 422 problem.
Errors are not stored (nothing was written), so a retry after one simply runs again. Nor is an
answer over ``IDEMPOTENCY_MAX_STORED_BYTES``, or one the database failed to keep: it is
answered all the same, and a retry runs again.

The response is stored after the use case committed, in a transaction of its own: if the process
dies in between, a retry runs the use case again, which the ledger makes harmless (the records
come back as ``duplicate`` instead of ``created``; nothing is appended twice).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

import marshmallow as ma
from flask import Response, current_app, request
from sqlalchemy.exc import DBAPIError

from api.auth import current_client
from api.db import db_session
from api.errors import Problem
from ledger.access.idempotency import (
    StoredResponse,
    find_response,
    store_response,
    valid_idempotency_key,
)
from ledger.db.faults import describe, is_unavailable
from ledger.errors import StoredAnswerTooLargeError

HEADER = "Idempotency-Key"
log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


class IdempotencyHeaderSchema(ma.Schema):
    """Documents (and checks) the optional header on operations that honour it."""

    idempotency_key = ma.fields.String(
        data_key=HEADER,
        validate=ma.validate.Regexp(r"^[\x21-\x7e]{1,255}$"),
        metadata={
            "description": "Any unique string (e.g. a UUID) chosen by the client. Sending the "
            "same key with the same request again returns the first response, marked with "
            "`Idempotent-Replayed: true`; with a different request it is a 422 problem. Kept "
            "for 24 hours.",
        },
    )


def fingerprint() -> str:
    """SHA-256 over what identifies this request: method, path and query, body bytes."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n" + request.full_path.encode("utf-8", "surrogateescape") + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(stored: StoredResponse) -> Response:
    response = current_app.response_class(
        stored.body, status=stored.status_code, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: F) -> F:
    """Honour ``Idempotency-Key`` on a view. Place it below ``require_role`` (the key belongs to
    the authenticated client) and above ``@blp.arguments``/``@blp.response``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not valid_idempotency_key(key):
            raise Problem(
                422,
                "The Idempotency-Key header is not valid.",
                code="validation",
                errors={f"headers.{HEADER}": ["must be 1-255 visible ASCII characters"]},
            )
        client = current_client()
        max_age = dt.timedelta(seconds=current_app.config["IDEMPOTENCY_TTL_SECONDS"])
        this_request = fingerprint()
        stored = find_response(db_session(), client.id, key, max_age=max_age)
        if stored is None:
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code >= 500:
                return response
            body = response.get_data(as_text=True)
            try:
                stored = store_response(
                    db_session(),
                    client.id,
                    key,
                    fingerprint=this_request,
                    status_code=response.status_code,
                    body=body,
                    max_age=max_age,
                    max_bytes=current_app.config["IDEMPOTENCY_MAX_STORED_BYTES"],
                )
            except (StoredAnswerTooLargeError, DBAPIError) as exc:
                if isinstance(exc, DBAPIError) and not is_unavailable(exc):
                    raise
                # The use case has committed: its answer is the truth, even if it cannot be
                # kept for a replay (a retry then runs again, which never appends twice).
                log.warning("idempotency: answer not kept (%s)", describe(exc))
                return response
            if stored.fingerprint == this_request and stored.body == body:
                return response
            # Otherwise a concurrent request with this key was stored first: answer as it did.
        if stored.fingerprint != this_request:
            raise Problem(
                422,
                "This Idempotency-Key was used for a different request; use a new key "
                "for a new request.",
                code="idempotency-key-reused",
            )
        return _replay(stored)

    return cast(F, wrapper)
