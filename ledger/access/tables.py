"""The access tables: API clients (keys stored hashed), replayable responses, ended sessions."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db.base import Base
from ledger.db.types import Sha256, SourceId, Timestamp

MAX_IDEMPOTENCY_KEY = 255


class Client(Base):
    """A caller of the HTTP API: a learning platform (bound to one source), a filing system or
    an administrator."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[SourceId | None] = mapped_column(ForeignKey("sources.id"))
    key_hash: Mapped[Sha256] = mapped_column(unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[Timestamp]
    revoked_at: Mapped[Timestamp | None]


class IdempotencyKey(Base):
    """The first response to a request sent with an ``Idempotency-Key`` header, to replay."""

    __tablename__ = "idempotency_keys"

    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_IDEMPOTENCY_KEY), primary_key=True)
    # SHA-256 over method, path and body: the same key with another request is refused.
    fingerprint: Mapped[Sha256]
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]


class EndedSession(Base):
    """A browser session signed out before its cookie expired: the cookie is refused from then
    on, whoever holds a copy. Kept until the cookie would have expired anyway."""

    __tablename__ = "ended_sessions"

    # SHA-256 of the session's id: the table never holds what a cookie carries.
    session_hash: Mapped[Sha256] = mapped_column(primary_key=True)
    ended_at: Mapped[Timestamp]
    expires_at: Mapped[Timestamp] = mapped_column(index=True)
