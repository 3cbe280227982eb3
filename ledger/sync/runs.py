"""Sync state kept in the database: cursors, runs, quarantine and leases.

The importers fetch from platforms; this module is the ledger side of that work. It never talks
HTTP. Each function is one use case with its own transaction, like :mod:`ledger.entries.append`.

How a page is made durable: the importer first appends the page's records through
:func:`ledger.entries.append.append_records` (its own transaction, idempotent), then calls
:func:`record_page`, which in one transaction renews the lease, advances the cursor, adds the
page's counts to the run and files or clears quarantined records. A crash between the two
re-fetches the page on the next run, where every record is a ``duplicate``: nothing is lost and
nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ledger.db.transactions import read_transaction, run_with_retries, write_transaction
from ledger.entries.tables import Source
from ledger.errors import LeaseLostError, UnknownSourceError
from ledger.sync.quarantine import Quarantine, file_quarantine
from ledger.sync.tables import QuarantinedRecord, SyncCursor, SyncLease, SyncRun, upsert_into
from ledger.values.id_numbers import mask_text


class RunStatus(enum.StrEnum):
    """Where a sync or import run is."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunTrigger(enum.StrEnum):
    """What started a run."""

    MANUAL = "manual"  # an operator (``cehours sync run``)
    SCHEDULER = "scheduler"  # the scheduler process
    IMPORT = "import"  # a file import; it holds no lease and has no cursor


ABANDONED = (
    "abandoned: it ended before it could be closed (its process died or the database went away)"
)


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


def get_cursor(session: Session, source_id: str) -> dict[str, Any] | None:
    """The source's saved cursor, or ``None`` before its first committed page."""
    with read_transaction(session):
        row = session.get(SyncCursor, source_id)
        return dict(row.value) if row is not None else None


def start_run(session: Session, source_id: str, *, trigger: RunTrigger, holder: str) -> int:
    """Record the start of a run and return its id.

    A sync (which holds the source's lease) also closes the source's syncs that are still
    ``running``: none can be, under the lease. Their process died, its lease expired, or (under
    this very holder, a scheduler) the database went away before they could be closed.

    Raises:
        UnknownSourceError: no such source.
    """

    def transaction() -> int:
        with write_transaction(session):
            if session.get(Source, source_id) is None:
                raise UnknownSourceError(f"unknown source {source_id!r}")
            if trigger != RunTrigger.IMPORT:
                session.execute(
                    update(SyncRun)
                    .where(
                        SyncRun.source_id == source_id,
                        SyncRun.status == RunStatus.RUNNING,
                        SyncRun.trigger != RunTrigger.IMPORT,
                    )
                    .values(status=RunStatus.FAILED, finished_at=_now(), error=ABANDONED)
                )
            run = SyncRun(
                source_id=source_id,
                trigger=trigger,
                holder=holder,
                started_at=_now(),
                status=RunStatus.RUNNING,
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
                _renew_lease(session, source_id, *lease, now)
            if cursor is not None:
                _save_cursor(session, source_id, cursor, now)
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
            if keys:
                _clear_quarantine(session, source_id, keys, now)
            if quarantine:
                file_quarantine(session, source_id, run_id, quarantine, now)

    run_with_retries(transaction)


def _renew_lease(
    session: Session, source_id: str, holder: str, ttl: dt.timedelta, now: dt.datetime
) -> None:
    renewed = session.execute(
        update(SyncLease)
        .where(SyncLease.source_id == source_id, SyncLease.holder == holder)
        .values(expires_at=now + ttl)
        .returning(SyncLease.holder)
    ).first()
    if renewed is None:
        raise LeaseLostError(f"the sync lease of {source_id!r} was taken by another")


def _save_cursor(
    session: Session, source_id: str, cursor: Mapping[str, Any], now: dt.datetime
) -> None:
    ins = upsert_into(session, SyncCursor).values(
        source_id=source_id, value=dict(cursor), updated_at=now
    )
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["source_id"],
            set_={"value": ins.excluded.value, "updated_at": now},
        )
    )


def _clear_quarantine(session: Session, source_id: str, keys: list[str], now: dt.datetime) -> None:
    """Mark the records of ``keys`` cleared: the platform has sent them again, valid."""
    # Most sources have nothing in quarantine: one indexed probe spares a 1,000-key UPDATE.
    if not session.scalar(
        select(QuarantinedRecord.record_key)
        .where(
            QuarantinedRecord.source_id == source_id,
            QuarantinedRecord.cleared_at.is_(None),
        )
        .limit(1)
    ):
        return
    session.execute(
        update(QuarantinedRecord)
        .where(
            QuarantinedRecord.source_id == source_id,
            QuarantinedRecord.record_key.in_(keys),
            QuarantinedRecord.cleared_at.is_(None),
        )
        .values(cleared_at=now)
    )


def finish_run(session: Session, run_id: int, *, error: str | None = None) -> RunInfo:
    """Close a run: ``succeeded``, or ``failed`` with the error (which must hold no ID number)."""

    def transaction() -> RunInfo:
        with write_transaction(session):
            run = session.get(SyncRun, run_id)
            assert run is not None, "finish_run for a run that was never started"
            run.finished_at = _now()
            run.status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
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


def get_sync_status(session: Session) -> list[SourceSyncStatus]:
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
