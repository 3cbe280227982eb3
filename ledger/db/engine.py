"""Engines and session factories for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ledger.db.faults import sqlite_file_fault

DEFAULT_DATABASE_URL = "sqlite:///var/cehours.sqlite3"


WRITE_OPTION = "cehours_write"
POOLER_ENV = "CEHOURS_DB_TRANSACTION_POOLER"
SQLITE_LOCK_TIMEOUT_SECONDS = 60.0
"""How long a SQLite transaction waits for another writer's lock, unless the caller says."""


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


def transaction_pooler_from_env() -> bool:
    """Whether ``CEHOURS_DB_TRANSACTION_POOLER`` says connections go through a pooler in
    transaction mode (PgBouncer ``pool_mode = transaction``)."""
    return os.environ.get(POOLER_ENV, "").strip().lower() in ("1", "true", "yes")


def make_engine(
    url: str | None = None,
    *,
    lock_timeout: float | None = None,
    statement_timeout: float | None = None,
    transaction_pooler: bool | None = None,
    connect_timeout: float | None = None,
    **kwargs: Any,
) -> Engine:
    """Create an engine with the settings this ledger relies on.

    On SQLite: WAL, foreign keys on, a busy timeout of ``lock_timeout`` seconds (default
    :data:`SQLITE_LOCK_TIMEOUT_SECONDS`), and
    ``BEGIN IMMEDIATE`` for write transactions so that concurrent writers queue instead of
    failing half-way; a connection that met a read-only, full or failing file is discarded
    with the rest of the pool (a connection SQLite opened read-only stays read-only). On
    PostgreSQL: pooled connections pinged before use, no JIT compilation, and, when given, the
    same ``lock_timeout`` and, when given, a ``statement_timeout`` in seconds (unless
    ``connect_args`` are given); ``connect_timeout`` seconds to connect at most.

    ``transaction_pooler`` (default: :func:`transaction_pooler_from_env`): connections go
    through PgBouncer in transaction mode, where consecutive transactions of one connection may
    run on different server connections. Then psycopg prepares no server-side statements
    (``prepare_threshold=None``: PgBouncer before 1.21, Debian 12's 1.18 included, cannot follow
    them) and no startup ``options`` are sent (PgBouncer refuses unknown startup parameters):
    set ``jit``, ``lock_timeout`` and ``statement_timeout`` on the role instead
    (docs/operations.md).
    """
    url = normalise_url(url or database_url())
    if url.startswith("sqlite"):
        lock_timeout = SQLITE_LOCK_TIMEOUT_SECONDS if lock_timeout is None else lock_timeout
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            path = url.removeprefix("sqlite:///")
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": lock_timeout, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, lock_timeout)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if transaction_pooler is None:
        transaction_pooler = transaction_pooler_from_env()
    connect_args: dict[str, Any] = (
        {"prepare_threshold": None}
        if transaction_pooler
        else {"options": _postgresql_options(lock_timeout, statement_timeout)}
    )
    if connect_timeout is not None:
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    kwargs.setdefault("connect_args", connect_args)
    return create_engine(url, **kwargs)


def _postgresql_options(lock_timeout: float | None, statement_timeout: float | None) -> str:
    """The startup ``options`` of a PostgreSQL connection (none are sent through a pooler).

    No JIT: every query here reads one person or one batch through indexes, and compiling a plan
    whose estimate crosses jit_above_cost (stale statistics are enough) took 38 ms against a 2 ms
    execution (docs/scaling.md). A lock wait that runs out is 55P03, which use cases retry and
    the API answers 503 (busy), instead of a request that hangs on a stuck writer. A statement
    that runs out of statement_timeout (lock waits included) is 57014, a fault answered 503: a
    request never outlives the server's worker timeout.
    """
    options = "-c jit=off"
    if lock_timeout is not None:
        options += f" -c lock_timeout={int(lock_timeout * 1000)}"
    if statement_timeout is not None:
        options += f" -c statement_timeout={int(statement_timeout * 1000)}"
    return options


def _configure_sqlite(engine: Engine, lock_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        # SQLite opens a file it may not write read-only, and such a connection stays read-only
        # when the file is writable again; a full or failing disk may leave one unusable. Treat
        # these as a lost connection: SQLAlchemy discards it and every connection pooled before
        # it, so once the file is back the next transaction gets a fresh one.
        if sqlite_file_fault(context.original_exception):
            context.is_disconnect = True

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory services are given (no autobegin surprises, no expiry)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
