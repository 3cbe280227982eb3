"""Engines, sessions and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

DEFAULT_DATABASE_URL = "sqlite:///var/cehours.sqlite3"
_WRITE = "cehours_write"
T = TypeVar("T")


class Hours(TypeDecorator[Decimal]):
    """Hours stored exactly as a signed integer number of tenths; read back as ``Decimal``.

    SQLite has no exact decimal type, and a float must never hold hours, so both databases store
    tenths in an integer column and sums stay exact.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        tenths = Decimal(value) * 10
        if tenths != tenths.to_integral_value():
            raise ValueError("hours may have at most one decimal place")
        return int(tenths)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 10).quantize(Decimal("0.1"))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


def database_url() -> str:
    """Return the database URL from ``CEHOURS_DATABASE_URL`` or ``DATABASE_URL``, else SQLite."""
    return (
        os.environ.get("CEHOURS_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (the driver this project installs)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine with the settings this ledger relies on.

    On SQLite: WAL, foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for write
    transactions so that concurrent writers queue instead of failing half-way. On PostgreSQL:
    pooled connections pinged before use, and no JIT compilation (unless ``connect_args`` are
    given).
    """
    url = normalise_url(url or database_url())
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            path = url.removeprefix("sqlite:///")
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 60, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # No JIT: every query here reads one person or one batch through indexes, and compiling a
    # plan whose estimate crosses jit_above_cost (stale statistics are enough) took 38 ms against
    # a 2 ms execution (docs/scaling.md).
    kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory services are given (no autobegin surprises, no expiry)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run one use case's write transaction: commit on success, roll back on any error.

    On SQLite the transaction takes the write lock at once (``BEGIN IMMEDIATE``).
    """
    with session.begin():
        if session.get_bind().dialect.name == "sqlite":  # PostgreSQL begins when first asked
            session.connection(execution_options={_WRITE: True})
        yield session


@contextmanager
def read_transaction(session: Session) -> Iterator[Session]:
    """Run one use case's read-only transaction."""
    with session.begin():
        yield session


_DRIVER_SQL: dict[tuple[int, str], tuple[Executable, str, dict[str, Any]]] = {}


def _driver_sql(statement: Executable, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The statement's SQL in the driver's parameter style, and the values it binds itself."""
    key = (id(statement), dialect.name)
    known = _DRIVER_SQL.get(key)
    if known is None or known[0] is not statement:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        sql = str(compiled)
        if "POSTCOMPILE" in sql:
            raise ValueError("driver_rows takes no expanding (IN-list) parameters")
        # The statement is kept, so that its id cannot be reused by another while cached.
        known = _DRIVER_SQL[key] = (statement, sql, dict(compiled.params))
    return known[1], known[2]


def driver_rows(
    session: Session, statement: Executable, params: Mapping[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """Run a prebuilt statement in the session's transaction; its rows as plain tuples.

    On PostgreSQL the statement, compiled once, goes straight to psycopg's cursor on the
    session's connection. For the few statements of a request that read or write one person,
    SQLAlchemy's execution and result layers cost more than the database does: an attestation's
    three statements took about 0.5 ms less CPU this way (measured in-process). So it is only
    for statements whose parameters and columns need no conversion by SQLAlchemy's types:
    strings, integers, booleans, dates and aware timestamps, which psycopg converts itself.
    Driver errors are raised as SQLAlchemy's, as on SQLAlchemy's own path, but without the
    parameters (they may hold an ID number), and a dead connection is invalidated. Elsewhere
    (SQLite) the statement runs through SQLAlchemy.
    """
    conn = session.connection()
    sql, own = _driver_sql(statement, conn.dialect)
    if conn.dialect.name != "postgresql":
        return conn.execute(statement, params).all()
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, {**own, **params} if own else params)
        return cursor.fetchall() if cursor.description is not None else []
    except conn.dialect.loaded_dbapi.Error as exc:
        if conn.dialect.is_disconnect(exc, dbapi_connection, cursor):
            conn.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


def statement_rows(
    session: Session, statement: Executable, params: Mapping[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """Run one prebuilt read statement as a transaction of its own, as :func:`driver_rows` does;
    in the caller's transaction instead when one is open.

    One statement reads one snapshot, so a read that needs no other statement needs no
    transaction around it either. On PostgreSQL it therefore runs in autocommit: no ``BEGIN``
    and ``COMMIT``, two round trips of the three that a one-statement read transaction costs.
    For an explained evaluation over HTTP that took PostgreSQL's CPU a request from about 0.6
    to 0.3 ms, and the server's in-process from 1.46 to 1.27 ms (``bench/compliance.py``).
    """
    if session.in_transaction():
        return driver_rows(session, statement, params)
    with read_transaction(session):
        conn = session.connection()
        if conn.dialect.name != "postgresql":
            return driver_rows(session, statement, params)
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        dbapi_connection.autocommit = True  # idle: nothing has run on it in this transaction
        try:
            return driver_rows(session, statement, params)
        finally:
            if not dbapi_connection.closed:  # a dead one was invalidated; nothing to restore
                dbapi_connection.autocommit = False


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
