"""The ledger's tables, as typed SQLAlchemy 2.0 models.

Only ``entries`` is the ledger proper and is append-only (triggers in the migrations refuse
UPDATE, DELETE and TRUNCATE). Rows of ``people`` and ``sources`` are never deleted and keep their
ids (triggers too), which is what lets entries name them without foreign keys. ``records`` and
``balances`` are indexes derived from it, kept in the same transaction as each append, and
``cehours ledger verify`` rebuilds and checks them.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db.base import Base
from ledger.db.types import (
    EntryId,
    HoursValue,
    PersonId,
    Sha256,
    SourceId,
    Timestamp,
)


class Person(Base):
    """A professional, known by resident ID number and addressed by an opaque ``id``."""

    __tablename__ = "people"
    # Room in each page for the chain head's update in place (migration 0006).
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)

    id: Mapped[PersonId] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Head of this person's hash chain; moved in the same transaction as every append.
    head_hash: Mapped[Sha256 | None]
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[Timestamp]


class Source(Base):
    """A learning platform that registers hours (city, provincial industry, ...)."""

    __tablename__ = "sources"

    id: Mapped[SourceId] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(12))
    display_name: Mapped[str] = mapped_column(String(200))
    # Pull configuration (URL, credentials reference, field mapping, schedule), if any.
    config: Mapped[dict[str, Any] | None]
    created_at: Mapped[Timestamp]


class Entry(Base):
    """One ledger row: a credit, or a reversal of an earlier credit. Never changed once written."""

    __tablename__ = "entries"
    # Few indexes and no foreign keys to hot parent rows: each is a write per appended entry
    # (migration 0005 and docs/scaling.md say why, and what guards the references instead).
    __table_args__ = (
        UniqueConstraint("person_id", "seq", name="uq_entries_person_seq"),
        Index(
            "ux_entries_reverses_id",
            "reverses_id",
            unique=True,
            sqlite_where=text("reverses_id IS NOT NULL"),
            postgresql_where=text("reverses_id IS NOT NULL"),
        ),
        # Superseding credits only (migration 0008): evaluations look them up by what they replace.
        Index(
            "ix_entries_supersedes_id",
            "supersedes_id",
            sqlite_where=text("supersedes_id IS NOT NULL"),
            postgresql_where=text("supersedes_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(EntryId, primary_key=True, autoincrement=True)
    person_id: Mapped[PersonId]
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[SourceId]
    external_id: Mapped[str] = mapped_column(String(128))
    record_version: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    # Signed: a credit adds hours, a reversal subtracts the hours it cancels.
    hours: Mapped[HoursValue]
    completed_on: Mapped[dt.date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    course_code: Mapped[str | None] = mapped_column(String(64))
    course_title: Mapped[str | None] = mapped_column(String(200))
    course_provider: Mapped[str | None] = mapped_column(String(200))
    content_digest: Mapped[Sha256]
    reverses_id: Mapped[int | None] = mapped_column(EntryId, ForeignKey("entries.id"))
    supersedes_id: Mapped[int | None] = mapped_column(EntryId, ForeignKey("entries.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[Timestamp]
    prev_hash: Mapped[Sha256 | None]
    hash: Mapped[Sha256]


class RecordStatus(enum.StrEnum):
    """Where a platform record stands (``records.status``)."""

    ACTIVE = "active"  # its current credit counts (a supersede makes a new active one)
    REVERSED = "reversed"  # its credit was reversed


class Record(Base):
    """Where a platform record (source, external id) stands now: its content and current entry."""

    __tablename__ = "records"

    source_id: Mapped[SourceId] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    person_id: Mapped[PersonId]
    version: Mapped[int] = mapped_column(Integer)
    content_digest: Mapped[Sha256]
    entry_id: Mapped[int] = mapped_column(EntryId)
    status: Mapped[str] = mapped_column(String(16))  # a RecordStatus
    updated_at: Mapped[Timestamp]


class Balance(Base):
    """Hours per person, source, year and category: the sum of their entries, kept on append."""

    __tablename__ = "balances"
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)

    person_id: Mapped[PersonId] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    source_id: Mapped[SourceId] = mapped_column(primary_key=True)
    hours: Mapped[HoursValue]
    entry_count: Mapped[int] = mapped_column(Integer)
