"""Engines and session factories for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///var/cehours.sqlite3"


WRITE_OPTION = "cehours_write"


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
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory services are given (no autobegin surprises, no expiry)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
