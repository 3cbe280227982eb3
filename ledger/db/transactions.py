"""Transactions as use cases run them: read, write (write-locked at once on SQLite), retried."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ledger.db.engine import WRITE_OPTION

T = TypeVar("T")


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run one use case's write transaction: commit on success, roll back on any error.

    On SQLite the transaction takes the write lock at once (``BEGIN IMMEDIATE``).
    """
    with session.begin():
        if session.get_bind().dialect.name == "sqlite":  # PostgreSQL begins when first asked
            session.connection(execution_options={WRITE_OPTION: True})
        yield session


@contextmanager
def read_transaction(session: Session) -> Iterator[Session]:
    """Run one use case's read-only transaction."""
    with session.begin():
        yield session


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed transaction may simply be run again.

    A unique violation here means a concurrent writer claimed the same record or person between
    our read and our insert; serialization failures and deadlocks are PostgreSQL asking us to try
    again; ``database is locked`` is SQLite's busy timeout running out under heavy load.
    """
    if isinstance(exc, IntegrityError):
        return True
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        return code in {"40001", "40P01", "55P03"}
    return False


RETRY_BUDGET_SECONDS = 30.0
"""After this long a use case stops retrying: the caller (503 with ``Retry-After``) decides."""
DISCONNECT_RETRIES = 2


def lost_before_commit(exc: DBAPIError) -> bool:
    """Whether the connection was lost (a killed backend, a file fault on SQLite) while a
    statement ran, so that the transaction was certainly not committed and may run again on a
    fresh connection. A connection lost during ``COMMIT`` itself (no statement) is not: whether
    it committed is unknown, and the caller must be told."""
    return exc.connection_invalidated and exc.statement is not None


def run_with_retries(
    fn: Callable[[], T], *, attempts: int = 8, budget: float = RETRY_BUDGET_SECONDS
) -> T:
    """Run ``fn`` (a whole transaction), retrying it when :func:`is_retryable` says so, or
    (at most :data:`DISCONNECT_RETRIES` times) when its connection was lost before commit, for
    at most ``budget`` seconds: a lock held elsewhere must not keep a request waiting for ever.

    Raises:
        Exception: whatever ``fn`` raised on its last attempt, or any non-retryable error.
    """
    started = time.monotonic()
    disconnects = 0
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            lost = lost_before_commit(exc)
            disconnects += lost
            again = is_retryable(exc) or (lost and disconnects <= DISCONNECT_RETRIES)
            if attempt == attempts - 1 or not again or time.monotonic() - started > budget:
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt))
    raise AssertionError("unreachable")
