"""Browser sessions that sign-out ended: the server's word on a cookie, not only the cookie's.

A session cookie is signed and carries its own expiry, so on its own it stays good until then,
even after sign-out, for anyone holding a copy. Each session therefore has a random id, and
sign-out records (a hash of) it here; a cookie whose session is recorded is refused at once, by
every worker. A row is needed only until the cookie would have expired anyway, and sign-out
clears the rows past that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger.access.tables import EndedSession
from ledger.db.transactions import read_transaction, write_transaction


def new_session_id() -> str:
    """A fresh, unguessable session id (256 bits)."""
    return secrets.token_urlsafe(32)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def end_session(
    session: Session, session_id: str, *, expires_at: dt.datetime, now: dt.datetime | None = None
) -> None:
    """Record that a browser session has ended (sign-out); ending it again changes nothing.

    ``expires_at`` is when its cookie would expire by itself: the row is kept until then.
    """
    now = now or dt.datetime.now(dt.UTC)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(EndedSession)
        .values(session_hash=_hash(session_id), ended_at=now, expires_at=expires_at)
        .on_conflict_do_nothing()
    )
    with write_transaction(session):
        session.execute(delete(EndedSession).where(EndedSession.expires_at < now))
        session.execute(statement)


def session_ended(session: Session, session_id: str) -> bool:
    """Whether the browser session with this id was ended by sign-out."""
    with read_transaction(session):
        found = session.scalar(
            select(EndedSession.session_hash).where(EndedSession.session_hash == _hash(session_id))
        )
    return found is not None
