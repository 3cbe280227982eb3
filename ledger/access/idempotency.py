"""Idempotency keys: the first response to a request, kept to replay it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.access.tables import IdempotencyKey
from ledger.db.transactions import read_transaction, write_transaction
from ledger.errors import StoredAnswerTooLargeError, ValidationError

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
MAX_STORED_BYTES = 1024 * 1024
"""The largest answer kept by default: a full batch's answer of 1,000 results is far smaller."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response kept for an idempotency key."""

    fingerprint: str
    status_code: int
    body: str
    created_at: dt.datetime


def valid_idempotency_key(key: str) -> bool:
    """Whether ``key`` is acceptable as an ``Idempotency-Key``: 1-255 visible ASCII characters."""
    return _IDEMPOTENCY_KEY.fullmatch(key) is not None


def find_response(
    session: Session, client_id: int, key: str, *, max_age: dt.timedelta
) -> StoredResponse | None:
    """The response stored for a client's idempotency key, unless none or older than
    ``max_age``."""
    with read_transaction(session):
        row = session.get(IdempotencyKey, (client_id, key))
        if row is None or row.created_at < dt.datetime.now(dt.UTC) - max_age:
            return None
        return StoredResponse(row.fingerprint, row.status_code, row.body, row.created_at)


def store_response(
    session: Session,
    client_id: int,
    key: str,
    *,
    fingerprint: str,
    status_code: int,
    body: str,
    max_age: dt.timedelta,
    max_bytes: int = MAX_STORED_BYTES,
) -> StoredResponse:
    """Keep the first response for a client's idempotency key and return what is kept.

    When a concurrent request with the same key stored its response first, that one is kept
    and returned, so both callers can answer alike. An expired entry is replaced.

    Raises:
        ValidationError: the key is not 1-255 visible ASCII characters.
        StoredAnswerTooLargeError: ``body`` is over ``max_bytes`` (UTF-8); nothing is kept.
    """
    if not valid_idempotency_key(key):
        raise ValidationError({"Idempotency-Key": ["must be 1-255 visible ASCII characters"]})
    if len(body.encode("utf-8", "surrogatepass")) > max_bytes:
        raise StoredAnswerTooLargeError(f"an answer over {max_bytes} bytes is not kept")
    now = dt.datetime.now(dt.UTC)
    try:
        with write_transaction(session):
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.client_id == client_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.created_at < now - max_age,
                )
            )
            session.add(
                IdempotencyKey(
                    client_id=client_id,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=status_code,
                    body=body,
                    created_at=now,
                )
            )
        return StoredResponse(fingerprint, status_code, body, now)
    except IntegrityError:
        # A concurrent request with the same key got there first: its response stands.
        kept = find_response(session, client_id, key, max_age=max_age)
        if kept is None:
            raise
        return kept
