"""The sync tables: cursors, runs, quarantined records and leases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db.base import Base
from ledger.db.types import EntryId, SourceId, Timestamp, UTCDateTime


class SyncCursor(Base):
    """How far a source has been read: an opaque JSON value the source's adapter understands."""

    __tablename__ = "sync_cursors"

    source_id: Mapped[SourceId] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[Timestamp]


class SyncRun(Base):
    """One sync or import of a source, with what it fetched and what became of it."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(EntryId, primary_key=True, autoincrement=True)
    source_id: Mapped[SourceId] = mapped_column(ForeignKey("sources.id"))
    # "manual", "scheduler" or "import"
    trigger: Mapped[str] = mapped_column(String(16))
    holder: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[Timestamp]
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    superseded: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class QuarantinedRecord(Base):
    """A record a platform sent that failed validation, kept as sent until the platform fixes it.

    ``record_key`` is the platform's record id, or ``sha256:<digest of the payload>`` when the
    record has none. ``cleared_at`` is set when a later sync brings a valid version.
    """

    __tablename__ = "sync_quarantine"
    __table_args__ = (Index("ix_sync_quarantine_source_cleared", "source_id", "cleared_at"),)

    source_id: Mapped[SourceId] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(140), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(128))
    # The platform's field that holds the ID number, so that display can always mask it.
    id_field: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    first_seen_at: Mapped[Timestamp]
    last_seen_at: Mapped[Timestamp]
    times_seen: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(EntryId, ForeignKey("sync_runs.id"))
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SyncLease(Base):
    """Who may sync a source right now, and until when (one row per source)."""

    __tablename__ = "sync_leases"

    source_id: Mapped[SourceId] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[Timestamp]
    expires_at: Mapped[Timestamp]


def upsert_into(session: Session, table: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
