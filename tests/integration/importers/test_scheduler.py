"""The scheduler: one job per scheduled source, never two runs of a source at once."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from importers.scheduler import SyncScheduler, run_scheduled_sync
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.sources import set_source_config
from ledger.sync.leases import acquire_lease
from ledger.sync.runs import list_runs
from tests.integration.importers.conftest import make_source
from tests.integration.importers.fake_platform import FakePlatform
from tests.integration.importers.helpers import SOURCE, assert_ledger_matches


@pytest.fixture
def factory() -> Iterator[Callable[[str], sessionmaker[Session]]]:
    engines: list[Engine] = []

    def make(url: str) -> sessionmaker[Session]:
        engines.append(make_engine(url))
        return make_session_factory(engines[-1])

    yield make
    for engine in engines:
        engine.dispose()


def test_each_scheduled_source_gets_one_coalescing_single_instance_job(
    sqlite_session: Session,
    sqlite_url: str,
    cursor_platform: FakePlatform,
    factory: Callable[[str], sessionmaker[Session]],
) -> None:
    make_source(sqlite_session, cursor_platform, schedule={"cron": "30 2 * * *"})

    scheduler = SyncScheduler(factory(sqlite_url), background=True)

    assert scheduler.source_ids == [SOURCE]
    job = scheduler.scheduler.get_job(f"sync:{SOURCE}")
    assert job is not None
    assert (job.max_instances, job.coalesce) == (1, True)
    assert "hour='2'" in str(job.trigger)
    assert "minute='30'" in str(job.trigger)


def test_a_source_whose_schedule_is_removed_loses_its_job_on_refresh(
    sqlite_session: Session,
    sqlite_url: str,
    cursor_platform: FakePlatform,
    factory: Callable[[str], sessionmaker[Session]],
) -> None:
    make_source(sqlite_session, cursor_platform, schedule={"interval_minutes": 60})
    scheduler = SyncScheduler(factory(sqlite_url), background=True)
    config = cursor_platform.config()

    set_source_config(sqlite_session, SOURCE, config)
    scheduler.refresh()

    assert scheduler.source_ids == []
    assert scheduler.scheduler.get_job(f"sync:{SOURCE}") is None


def test_the_scheduler_syncs_a_source_on_its_interval(
    sqlite_session: Session,
    sqlite_url: str,
    cursor_platform: FakePlatform,
    factory: Callable[[str], sessionmaker[Session]],
) -> None:
    make_source(sqlite_session, cursor_platform, schedule={"interval_minutes": 0.005})
    scheduler = SyncScheduler(factory(sqlite_url), background=True)

    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        while not list_runs(sqlite_session, SOURCE) and time.monotonic() < deadline:
            time.sleep(0.1)
        while list_runs(sqlite_session, SOURCE)[0].status == "running":
            time.sleep(0.05)
    finally:
        scheduler.shutdown()

    assert list_runs(sqlite_session, SOURCE)[-1].trigger == "scheduler"
    assert_ledger_matches(sqlite_session, cursor_platform)


def test_a_scheduled_sync_skips_a_source_someone_else_is_syncing(
    session: Session,
    db_url: str,
    cursor_platform: FakePlatform,
    factory: Callable[[str], sessionmaker[Session]],
) -> None:
    make_source(session, cursor_platform, schedule={"interval_minutes": 60})
    acquire_lease(session, SOURCE, "manual-sync", ttl=dt.timedelta(minutes=5))

    outcome = run_scheduled_sync(factory(db_url), SOURCE, "scheduler-1")

    assert outcome == "busy"
    assert list_runs(session, SOURCE) == []
    assert cursor_platform.requests == []
