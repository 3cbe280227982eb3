"""Sync state kept in the database: cursors, runs, quarantine and leases.

The importers fetch from platforms; this module is the ledger side of that work. It never talks
HTTP. Each function is one use case with its own transaction, like :mod:`ledger.services`.

How a page is made durable: the importer first appends the page's records through
:func:`ledger.services.append_records` (its own transaction, idempotent), then calls
:func:`record_page`, which in one transaction renews the lease, advances the cursor, adds the
page's counts to the run and files or clears quarantined records. A crash between the two
re-fetches the page on the next run, where every record is a ``duplicate``: nothing is lost and
nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.db import UTCDateTime, read_transaction, run_with_retries, write_transaction
from ledger.errors import LeaseLostError, UnknownSourceError
from ledger.models import Base, EntryId, Source, SourceId, Timestamp
from ledger.people import mask_id_number

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
IMPORT = "import"
ABANDONED = "abandoned: the process running it ended before it finished"
# Anything shaped like a resident ID number (15 or 18 characters), valid or not: a record is
# often quarantined precisely because its ID number is wrong, and it must still be masked.
_ID_LIKE = re.compile(r"\d{6}[0-9*]{6,8}[0-9*]{3}[0-9Xx*]")


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


@dataclass(frozen=True, slots=True)
class Quarantine:
    """A record to quarantine: its key, the validation errors and the payload as sent."""

    record_key: str
    external_id: str | None
    reason: dict[str, Any]
    payload: dict[str, Any]
    id_field: str | None = None


@dataclass(slots=True)
class PageCounts:
    """What one page contributed to a run."""

    fetched: int = 0
    created: int = 0
    duplicates: int = 0
    superseded: int = 0
    rejected: int = 0

    def add(self, other: PageCounts) -> None:
        """Add another page's counts to these."""
        self.fetched += other.fetched
        self.created += other.created
        self.duplicates += other.duplicates
        self.superseded += other.superseded
        self.rejected += other.rejected


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as shown to operators."""

    id: int
    source_id: str
    trigger: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    pages: int
    fetched: int
    created: int
    duplicates: int
    superseded: int
    rejected: int
    error: str | None


@dataclass(frozen=True, slots=True)
class QuarantineInfo:
    """A quarantined record as shown to operators: ID numbers in the payload masked."""

    source_id: str
    record_key: str
    external_id: str | None
    reason: dict[str, Any]
    payload: dict[str, Any]
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    times_seen: int
    cleared_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SourceSyncStatus:
    """A source's sync state at a glance."""

    source_id: str
    cursor: dict[str, Any] | None
    last_run: RunInfo | None
    quarantined: int
    lease_holder: str | None = None
    lease_expires_at: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _insert(session: Session, table: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def acquire_lease(
    session: Session,
    source_id: str,
    holder: str,
    *,
    ttl: dt.timedelta,
    now: dt.datetime | None = None,
) -> bool:
    """Take the source's sync lease for ``ttl`` unless someone else holds a live one.

    One conditional upsert decides it, so two schedulers (or a scheduler and a manual sync)
    asking at the same moment cannot both win, on SQLite or PostgreSQL. The holder that has it
    already simply extends it.

    Raises:
        UnknownSourceError: no such source.
    """
    at = now or _now()

    def transaction() -> bool:
        with write_transaction(session):
            if session.get(Source, source_id) is None:
                raise UnknownSourceError(f"unknown source {source_id!r}")
            ins = _insert(session, SyncLease).values(
                source_id=source_id, holder=holder, acquired_at=at, expires_at=at + ttl
            )
            stmt = ins.on_conflict_do_update(
                index_elements=["source_id"],
                set_={
                    "holder": ins.excluded.holder,
                    "acquired_at": ins.excluded.acquired_at,
                    "expires_at": ins.excluded.expires_at,
                },
                where=(SyncLease.expires_at <= at) | (SyncLease.holder == holder),
            )
            # RETURNING rather than rowcount: psycopg reports no rowcount for an upsert.
            taken = session.execute(stmt.returning(SyncLease.holder)).first()
            return taken is not None

    return run_with_retries(transaction)


def release_lease(session: Session, source_id: str, holder: str) -> None:
    """Give the lease back (only if ``holder`` still holds it)."""

    def transaction() -> None:
        with write_transaction(session):
            session.execute(
                update(SyncLease)
                .where(SyncLease.source_id == source_id, SyncLease.holder == holder)
                .values(expires_at=_now())
            )

    run_with_retries(transaction)


def get_cursor(session: Session, source_id: str) -> dict[str, Any] | None:
    """The source's saved cursor, or ``None`` before its first committed page."""
    with read_transaction(session):
        row = session.get(SyncCursor, source_id)
        return dict(row.value) if row is not None else None


def start_run(session: Session, source_id: str, *, trigger: str, holder: str) -> int:
    """Record the start of a run and return its id.

    A sync (which holds the source's lease) also closes the source's syncs that are still
    ``running`` under another holder: their process died, or its lease could not have expired.

    Raises:
        UnknownSourceError: no such source.
    """

    def transaction() -> int:
        with write_transaction(session):
            if session.get(Source, source_id) is None:
                raise UnknownSourceError(f"unknown source {source_id!r}")
            if trigger != IMPORT:
                session.execute(
                    update(SyncRun)
                    .where(
                        SyncRun.source_id == source_id,
                        SyncRun.status == RUNNING,
                        SyncRun.trigger != IMPORT,
                        SyncRun.holder != holder,
                    )
                    .values(status=FAILED, finished_at=_now(), error=ABANDONED)
                )
            run = SyncRun(
                source_id=source_id,
                trigger=trigger,
                holder=holder,
                started_at=_now(),
                status=RUNNING,
                pages=0,
                fetched=0,
                created=0,
                duplicates=0,
                superseded=0,
                rejected=0,
            )
            session.add(run)
            session.flush()
            return run.id

    return run_with_retries(transaction)


def record_page(
    session: Session,
    run_id: int,
    *,
    cursor: Mapping[str, Any] | None,
    counts: PageCounts,
    quarantine: Sequence[Quarantine] = (),
    cleared: Iterable[str] = (),
    lease: tuple[str, dt.timedelta] | None = None,
) -> None:
    """Make one committed page count: cursor, run counts, quarantine, lease, in one transaction.

    ``lease`` is ``(holder, ttl)``: the lease is extended, and if another holder has taken it
    meanwhile nothing is written. ``cursor=None`` leaves the cursor alone (file imports).

    Raises:
        LeaseLostError: another holder took the source's lease.
    """
    keys = sorted(set(cleared))

    def transaction() -> None:
        now = _now()
        with write_transaction(session):
            run = session.get(SyncRun, run_id)
            assert run is not None, "record_page for a run that was never started"
            source_id = run.source_id
            if lease is not None:
                holder, ttl = lease
                renewed = session.execute(
                    update(SyncLease)
                    .where(SyncLease.source_id == source_id, SyncLease.holder == holder)
                    .values(expires_at=now + ttl)
                    .returning(SyncLease.holder)
                ).first()
                if renewed is None:
                    raise LeaseLostError(f"the sync lease of {source_id!r} was taken by another")
            if cursor is not None:
                ins = _insert(session, SyncCursor).values(
                    source_id=source_id, value=dict(cursor), updated_at=now
                )
                session.execute(
                    ins.on_conflict_do_update(
                        index_elements=["source_id"],
                        set_={"value": ins.excluded.value, "updated_at": now},
                    )
                )
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id)
                .values(
                    pages=SyncRun.pages + 1,
                    fetched=SyncRun.fetched + counts.fetched,
                    created=SyncRun.created + counts.created,
                    duplicates=SyncRun.duplicates + counts.duplicates,
                    superseded=SyncRun.superseded + counts.superseded,
                    rejected=SyncRun.rejected + counts.rejected,
                )
            )
            # Most sources have nothing in quarantine: one indexed probe spares a 1,000-key UPDATE.
            if keys and session.scalar(
                select(QuarantinedRecord.record_key)
                .where(
                    QuarantinedRecord.source_id == source_id,
                    QuarantinedRecord.cleared_at.is_(None),
                )
                .limit(1)
            ):
                session.execute(
                    update(QuarantinedRecord)
                    .where(
                        QuarantinedRecord.source_id == source_id,
                        QuarantinedRecord.record_key.in_(keys),
                        QuarantinedRecord.cleared_at.is_(None),
                    )
                    .values(cleared_at=now)
                )
            if quarantine:
                _file_quarantine(session, source_id, run_id, quarantine, now)

    run_with_retries(transaction)


def _file_quarantine(
    session: Session,
    source_id: str,
    run_id: int,
    items: Sequence[Quarantine],
    now: dt.datetime,
) -> None:
    # The last occurrence of a key in a page wins (a page may repeat a record).
    latest = {item.record_key: item for item in items}
    rows = [
        {
            "source_id": source_id,
            "record_key": item.record_key,
            "external_id": item.external_id,
            "id_field": item.id_field,
            "reason": item.reason,
            "payload": item.payload,
            "first_seen_at": now,
            "last_seen_at": now,
            "times_seen": 1,
            "run_id": run_id,
            "cleared_at": None,
        }
        for item in latest.values()
    ]
    ins = _insert(session, QuarantinedRecord)
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["source_id", "record_key"],
            set_={
                "external_id": ins.excluded.external_id,
                "id_field": ins.excluded.id_field,
                "reason": ins.excluded.reason,
                "payload": ins.excluded.payload,
                "last_seen_at": ins.excluded.last_seen_at,
                "times_seen": QuarantinedRecord.times_seen + 1,
                "run_id": ins.excluded.run_id,
                "cleared_at": None,
            },
        ),
        rows,
    )


def finish_run(session: Session, run_id: int, *, error: str | None = None) -> RunInfo:
    """Close a run: ``succeeded``, or ``failed`` with the error (which must hold no ID number)."""

    def transaction() -> RunInfo:
        with write_transaction(session):
            run = session.get(SyncRun, run_id)
            assert run is not None, "finish_run for a run that was never started"
            run.finished_at = _now()
            run.status = FAILED if error else SUCCEEDED
            run.error = mask_text(error)[:2000] if error else None
            session.flush()
            return _run_info(run)

    return run_with_retries(transaction)


def _run_info(run: SyncRun) -> RunInfo:
    return RunInfo(
        id=run.id,
        source_id=run.source_id,
        trigger=run.trigger,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        pages=run.pages,
        fetched=run.fetched,
        created=run.created,
        duplicates=run.duplicates,
        superseded=run.superseded,
        rejected=run.rejected,
        error=run.error,
    )


def get_run(session: Session, run_id: int) -> RunInfo | None:
    """One run, or ``None``."""
    with read_transaction(session):
        run = session.get(SyncRun, run_id)
        return _run_info(run) if run is not None else None


def list_runs(session: Session, source_id: str | None = None, *, limit: int = 20) -> list[RunInfo]:
    """The most recent runs, newest first, of one source or of all."""
    stmt = select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
    if source_id is not None:
        stmt = stmt.where(SyncRun.source_id == source_id)
    with read_transaction(session):
        return [_run_info(r) for r in session.scalars(stmt)]


def sync_status(session: Session) -> list[SourceSyncStatus]:
    """Every source with a pull configuration or any sync history: cursor, last run, quarantine."""
    with read_transaction(session):
        sources = list(session.scalars(select(Source).order_by(Source.id)))
        cursors = {c.source_id: dict(c.value) for c in session.scalars(select(SyncCursor))}
        leases = {le.source_id: le for le in session.scalars(select(SyncLease))}
        counts: dict[str, int] = {
            sid: n
            for sid, n in session.execute(
                select(QuarantinedRecord.source_id, func.count())
                .where(QuarantinedRecord.cleared_at.is_(None))
                .group_by(QuarantinedRecord.source_id)
            )
        }
        latest = (
            select(SyncRun.source_id, func.max(SyncRun.id).label("run_id"))
            .group_by(SyncRun.source_id)
            .subquery()
        )
        last_runs = {
            r.source_id: _run_info(r)
            for r in session.scalars(select(SyncRun).join(latest, SyncRun.id == latest.c.run_id))
        }
        now = _now()
        out = []
        for s in sources:
            if not s.config and s.id not in last_runs and s.id not in cursors:
                continue
            lease = leases.get(s.id)
            live = lease is not None and lease.expires_at > now
            out.append(
                SourceSyncStatus(
                    source_id=s.id,
                    cursor=cursors.get(s.id),
                    last_run=last_runs.get(s.id),
                    quarantined=counts.get(s.id, 0),
                    lease_holder=lease.holder if live and lease else None,
                    lease_expires_at=lease.expires_at if live and lease else None,
                )
            )
        return out


def list_quarantine(
    session: Session, source_id: str, *, include_cleared: bool = False, limit: int = 1000
) -> list[QuarantineInfo]:
    """A source's quarantined records, most recently seen first, ID numbers masked.

    Raises:
        UnknownSourceError: no such source.
    """
    stmt = (
        select(QuarantinedRecord)
        .where(QuarantinedRecord.source_id == source_id)
        .order_by(QuarantinedRecord.last_seen_at.desc(), QuarantinedRecord.record_key)
        .limit(limit)
    )
    if not include_cleared:
        stmt = stmt.where(QuarantinedRecord.cleared_at.is_(None))
    with read_transaction(session):
        if session.get(Source, source_id) is None:
            raise UnknownSourceError(f"unknown source {source_id!r}")
        return [
            QuarantineInfo(
                source_id=q.source_id,
                record_key=q.record_key,
                external_id=q.external_id,
                reason=q.reason,
                payload=mask_payload(q.payload, q.id_field),
                first_seen_at=q.first_seen_at,
                last_seen_at=q.last_seen_at,
                times_seen=q.times_seen,
                cleared_at=q.cleared_at,
            )
            for q in session.scalars(stmt)
        ]


def mask_text(text: str) -> str:
    """Mask everything in ``text`` that looks like a resident ID number."""
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)


def _mask_id_value(value: str) -> str:
    # A value too short to be an ID number is usually a cut-off one: mask all of it.
    return mask_id_number(value) if len(value) >= 15 else "*" * len(value)


def mask_payload(payload: Any, id_field: str | None = None) -> Any:
    """A copy of a raw payload safe to display: the ID field and anything ID-shaped masked."""
    if isinstance(payload, Mapping):
        return {
            str(k): (
                _mask_id_value(str(v))
                if id_field is not None and k == id_field and v is not None
                else mask_payload(v, id_field)
            )
            for k, v in payload.items()
        }
    if isinstance(payload, list):
        return [mask_payload(v, id_field) for v in payload]
    if isinstance(payload, str):
        return mask_text(payload)
    return payload
