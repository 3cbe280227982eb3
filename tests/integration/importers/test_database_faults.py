"""The scheduler when PostgreSQL goes away: a sync it interrupts and a start while it is down.

Real faults on the test's own database (connections ended and refused, as in tests/faults), a
real platform on loopback: the job reports ``unavailable`` instead of raising, nothing committed
is lost, and once the database is back the next run resumes, closes the interrupted one and
leaves the ledger holding every record exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from importers.scheduler import SyncScheduler, run_scheduled_sync
from ledger.db.engine import make_engine, make_session_factory
from ledger.sync.runs import ABANDONED, list_runs
from tests.faults.databases import set_connections
from tests.integration.importers.conftest import make_source
from tests.integration.importers.fake_platform import FakePlatform
from tests.integration.importers.helpers import SOURCE, assert_ledger_matches

pytestmark = pytest.mark.postgres
HOLDER = "scheduler-under-test"


@pytest.fixture
def factory(pg_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_db_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_sync_the_database_drops_is_unavailable_and_the_next_run_resumes_and_closes_it(
    pg_db_url: str, factory: sessionmaker[Session], cursor_platform: FakePlatform
) -> None:
    with factory() as session:
        make_source(session, cursor_platform, schedule={"interval_minutes": 60})

    def close_the_database(number: int) -> None:
        if number == 2:  # page 1 is served; before page 2 the database goes
            set_connections(pg_db_url, allowed=False)

    cursor_platform.before_answer = close_the_database
    try:
        assert run_scheduled_sync(factory, SOURCE, HOLDER) == "unavailable"
    finally:
        set_connections(pg_db_url, allowed=True)
    cursor_platform.before_answer = None

    with factory() as session:
        [interrupted] = list_runs(session, SOURCE)
        assert interrupted.status == "running"  # the database was gone: nothing could close it
    assert run_scheduled_sync(factory, SOURCE, HOLDER) == "succeeded"
    with factory() as session:
        latest, earlier = list_runs(session, SOURCE)
        assert (latest.status, latest.trigger) == ("succeeded", "scheduler")
        assert (earlier.id, earlier.status, earlier.error) == (interrupted.id, "failed", ABANDONED)
        # Resumed after the pages committed before the fault, not started over.
        assert interrupted.fetched + latest.fetched == 25
        assert_ledger_matches(session, cursor_platform)


def test_a_scheduler_started_while_the_database_refuses_connections_schedules_once_it_is_back(
    pg_db_url: str, factory: sessionmaker[Session], cursor_platform: FakePlatform
) -> None:
    with factory() as session:
        make_source(session, cursor_platform, schedule={"cron": "30 2 * * *"})
    set_connections(pg_db_url, allowed=False)
    try:
        scheduler = SyncScheduler(factory, background=True)
        assert scheduler.source_ids == []
        assert scheduler.scheduler.get_job("refresh-schedules-retry") is not None
    finally:
        set_connections(pg_db_url, allowed=True)

    scheduler.refresh()

    assert scheduler.source_ids == [SOURCE]
    assert scheduler.scheduler.get_job(f"sync:{SOURCE}") is not None
