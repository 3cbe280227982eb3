"""The database as views see it: one session per request, from the app's session factory.

``create_app`` puts a :class:`Database` in ``app.extensions["cehours"]``; nothing connects until
a request first asks for its session. (Also importable as ``api.app.db_session``.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "cehours"
PING_AFTER_IDLE_SECONDS = 10
"""Default of ``DB_PING_AFTER_IDLE_SECONDS`` (see :func:`ping_when_idle`)."""


@dataclass(frozen=True, slots=True)
class Database:
    """The app's engine and session factory, and an engine without a pool for probes."""

    engine: Engine
    sessions: sessionmaker[Session]
    probe: Engine


def statement_timeout(config: Any) -> float | None:
    """``DB_STATEMENT_TIMEOUT_SECONDS`` of an app's config; ``None`` (no limit) when unset or 0."""
    seconds = config.get("DB_STATEMENT_TIMEOUT_SECONDS")
    return float(seconds) if seconds not in (None, "", 0) else None


def database(app: Flask | None = None) -> Database:
    """The :class:`Database` of ``app`` (default: the current app)."""
    db: Database = (app or current_app).extensions[EXTENSION]
    return db


def db_session() -> Session:
    """This request's session (opened on first use, closed when the request ends).

    Hand it to ``ledger`` services, which own their transactions; views never commit.
    """
    session: Session | None = g.get("db_session")
    if session is None:
        session = database().sessions()
        g.db_session = session
    return session


def db_engine() -> Engine:
    """The app's engine (for probes; views use :func:`db_session`)."""
    return database().engine


def probe_engine() -> Engine:
    """An engine on the same database whose every connection is new (the readiness probe's:
    a fault may spare connections opened before it)."""
    return database().probe


def close_session(_exc: BaseException | None) -> None:
    """Close this request's session, if it opened one (a teardown hook)."""
    for name in ("read_session", "db_session"):
        session = g.pop(name, None)
        if session is not None:
            session.close()


def ping_when_idle(engine: Engine, seconds: float) -> None:
    """Test a pooled connection before handing it out only when it has been idle ``seconds``.

    Instead of SQLAlchemy's ``pool_pre_ping``, which costs a round trip on every checkout (a
    tenth of a cheap request): a connection back in the pool a moment ago is almost certainly
    alive, while one idle for a while may have been closed by a database restart or an idle
    timeout. A dead one is replaced before the request sees it. A connection that dies between
    two busy moments fails its request once; SQLAlchemy then discards every connection of the
    pool that predates the failure, so the next requests get fresh ones.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError("the database closed an idle connection") from exc
