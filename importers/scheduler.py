"""The scheduler process: APScheduler 3.x syncing each source on its configured schedule.

One job per source with a ``schedule`` in its configuration, ``max_instances=1`` and coalescing
(a sync that overruns its interval is not stacked up behind itself). Running twice at once is
also prevented across processes: every sync takes the source's lease in the database first, so a
second scheduler started by mistake, or a manual ``cehours sync SOURCE``, makes the other skip.
Schedules are re-read from the database every few minutes, so a changed configuration needs no
restart.

A database that cannot serve (refused or dropped connections, a read-only standby) stops no
job and not the process: a sync it interrupts is counted ``unavailable`` and its committed pages
stay; the next run, once the database is back, resumes from the saved cursor and closes the run
left ``running``. A scheduler started while the database is down schedules its sources as soon
as it answers (re-read every :data:`RETRY_REFRESH_SECONDS` until then).
"""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from importers import metrics
from importers.config import Schedule, parse_pull_config
from importers.errors import ImporterError, SourceBusyError
from importers.runner import new_holder, sync_source
from ledger.db.faults import describe, is_unavailable
from ledger.entries.sources import list_sources
from ledger.errors import LedgerError
from ledger.sync.runs import RunTrigger
from ledger.values.dates import BUSINESS_TZ

log = logging.getLogger(__name__)
JOB_PREFIX = "sync:"
REFRESH_MINUTES = 5
RETRY_REFRESH_SECONDS = 30
JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 600}


def make_trigger(schedule: Schedule) -> BaseTrigger:
    """The APScheduler trigger for a source's schedule (cron lines are Asia/Shanghai time)."""
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone=BUSINESS_TZ)
    assert schedule.interval_minutes is not None
    return IntervalTrigger(seconds=schedule.interval_minutes * 60, timezone=BUSINESS_TZ)


def run_scheduled_sync(factory: sessionmaker[Session], source_id: str, holder: str) -> str:
    """One scheduled sync; returns what happened. Never raises: a job must not kill the process."""
    with factory() as session:
        try:
            run = sync_source(session, source_id, trigger=RunTrigger.SCHEDULER, holder=holder)
        except SourceBusyError:
            log.info("sync of %s skipped: another process holds its lease", source_id)
            metrics.count_run(source_id, "busy")
            return "busy"
        except (ImporterError, LedgerError) as exc:
            log.error("sync of %s could not start: %s", source_id, exc)
            metrics.count_run(source_id, "error")
            return "error"
        except Exception as exc:
            if is_unavailable(exc):
                log.warning(
                    "sync of %s stopped: the database is unavailable (%s); the next run resumes",
                    source_id,
                    describe(exc),
                )
                metrics.count_run(source_id, "unavailable")
                return "unavailable"
            log.exception("sync of %s failed unexpectedly", source_id)
            metrics.count_run(source_id, "error")
            return "error"
    metrics.count_run(
        source_id,
        run.status,
        {
            "fetched": run.fetched,
            "created": run.created,
            "superseded": run.superseded,
            "rejected": run.rejected,
        },
    )
    log.info(
        "sync of %s %s: %d fetched, %d created, %d superseded, %d rejected",
        source_id,
        run.status,
        run.fetched,
        run.created,
        run.superseded,
        run.rejected,
    )
    return run.status


def list_scheduled_sources(factory: sessionmaker[Session]) -> dict[str, Schedule]:
    """Every source whose configuration is valid and has a schedule."""
    out: dict[str, Schedule] = {}
    with factory() as session:
        sources = list_sources(session)
    for source in sources:
        if not source.config or not source.config.get("schedule"):
            continue
        try:
            schedule = parse_pull_config(source.config).schedule
        except ImporterError as exc:
            log.error("source %s has an invalid pull configuration: %s", source.id, exc)
            continue
        if schedule is not None:
            out[source.id] = schedule
    return out


class SyncScheduler:
    """An APScheduler scheduler whose jobs follow the sources' configured schedules."""

    def __init__(self, factory: sessionmaker[Session], *, background: bool = False) -> None:
        """Build the scheduler and its jobs (not started yet)."""
        cls = BackgroundScheduler if background else BlockingScheduler
        self.factory = factory
        self.holder = new_holder()
        self.scheduler: BaseScheduler = cls(timezone=BUSINESS_TZ, job_defaults=JOB_DEFAULTS)
        self._schedules: dict[str, Schedule] = {}
        self.refresh()
        self.scheduler.add_job(
            self.refresh,
            IntervalTrigger(minutes=REFRESH_MINUTES, timezone=BUSINESS_TZ),
            id="refresh-schedules",
            name="re-read source schedules",
        )

    def refresh(self) -> None:
        """Make the jobs match the sources' schedules (added, changed, removed).

        While the database cannot serve, the jobs stay as they are and the schedules are read
        again in :data:`RETRY_REFRESH_SECONDS`.
        """
        try:
            wanted = list_scheduled_sources(self.factory)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning(
                "source schedules not read: the database is unavailable (%s); again in %d s",
                describe(exc),
                RETRY_REFRESH_SECONDS,
            )
            self.scheduler.add_job(
                self.refresh,
                DateTrigger(
                    dt.datetime.now(BUSINESS_TZ) + dt.timedelta(seconds=RETRY_REFRESH_SECONDS)
                ),
                id="refresh-schedules-retry",
                name="re-read source schedules (the database was unavailable)",
                replace_existing=True,
            )
            return
        for source_id in list(self._schedules):
            if source_id not in wanted:
                self.scheduler.remove_job(JOB_PREFIX + source_id)
                del self._schedules[source_id]
        for source_id, schedule in wanted.items():
            # An unchanged schedule keeps its job, and so its next run time.
            if self._schedules.get(source_id) == schedule:
                continue
            self.scheduler.add_job(
                run_scheduled_sync,
                make_trigger(schedule),
                args=[self.factory, source_id, self.holder],
                id=JOB_PREFIX + source_id,
                name=f"sync {source_id}",
                replace_existing=True,
                **JOB_DEFAULTS,
            )
            self._schedules[source_id] = schedule

    @property
    def source_ids(self) -> list[str]:
        """The sources that have a job."""
        return sorted(self._schedules)

    def start(self) -> None:
        """Start (blocks until shut down, unless built with ``background=True``)."""
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the scheduler, by default after running jobs finish."""
        self.scheduler.shutdown(wait=wait)
