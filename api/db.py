"""The database as views see it: one session per request, from the app's session factory.

``create_app`` puts a :class:`Database` in ``app.extensions["cehours"]``; nothing connects until
a request first asks for its session. (Also importable as ``api.app.db_session``.)
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "cehours"


@dataclass(frozen=True, slots=True)
class Database:
    """The app's engine and session factory."""

    engine: Engine
    sessions: sessionmaker[Session]


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


def close_session(_exc: BaseException | None) -> None:
    """Close this request's session, if it opened one (a teardown hook)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
