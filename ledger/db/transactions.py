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


def run_with_retries(fn: Callable[[], T], *, attempts: int = 8) -> T:
    """Run ``fn`` (a whole transaction), retrying it when :func:`is_retryable` says so.

    Raises:
        Exception: whatever ``fn`` raised on its last attempt, or any non-retryable error.
    """
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt))
    raise AssertionError("unreachable")
