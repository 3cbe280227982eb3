"""The sync lease in the database: one sync of a source at a time, across processes, on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from importers.errors import SourceBusyError
from importers.runner import sync_source
from ledger.errors import LeaseLostError
from ledger.sync.leases import acquire_lease, release_lease
from ledger.sync.runs import PageCounts, list_runs, record_page, start_run
from tests.integration.importers.fake_platform import FakePlatform
from tests.integration.importers.helpers import assert_ledger_matches

MINUTE = dt.timedelta(minutes=1)


def test_a_live_lease_keeps_everyone_else_out(session: Session, cursor_source: str) -> None:
    assert acquire_lease(session, cursor_source, "scheduler-a", ttl=MINUTE)

    assert not acquire_lease(session, cursor_source, "scheduler-b", ttl=MINUTE)
    assert acquire_lease(session, cursor_source, "scheduler-a", ttl=MINUTE)


def test_an_expired_lease_can_be_taken_over(session: Session, cursor_source: str) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert acquire_lease(session, cursor_source, "crashed", ttl=MINUTE, now=past)

    assert acquire_lease(session, cursor_source, "successor", ttl=MINUTE)


def test_a_released_lease_is_free_at_once(session: Session, cursor_source: str) -> None:
    acquire_lease(session, cursor_source, "a", ttl=MINUTE)
    release_lease(session, cursor_source, "a")

    assert acquire_lease(session, cursor_source, "b", ttl=MINUTE)


def test_a_sync_refuses_to_start_while_another_holds_the_lease(
    session: Session, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    acquire_lease(session, cursor_source, "other-scheduler", ttl=MINUTE)

    with pytest.raises(SourceBusyError):
        sync_source(session, cursor_source)
    assert cursor_platform.requests == []
    assert list_runs(session, cursor_source) == []


def test_a_holder_whose_lease_was_taken_over_cannot_advance_the_cursor(
    session: Session, cursor_source: str
) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    acquire_lease(session, cursor_source, "slow", ttl=MINUTE, now=past)
    run_id = start_run(session, cursor_source, trigger="manual", holder="slow")
    acquire_lease(session, cursor_source, "fast", ttl=MINUTE)

    with pytest.raises(LeaseLostError):
        record_page(
            session, run_id, cursor={"cursor": "99"}, counts=PageCounts(), lease=("slow", MINUTE)
        )


def test_many_syncs_started_at_the_same_moment_run_the_source_once(
    session_factory: sessionmaker[Session], cursor_platform: FakePlatform, cursor_source: str
) -> None:
    # Each page takes a little while, so the first sync is still running when the others ask.
    cursor_platform.faults.extend(["hang"] * 3)
    cursor_platform.hang_seconds = 0.1
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def contender() -> None:
        with session_factory() as s:
            barrier.wait()
            try:
                outcomes.append(sync_source(s, cursor_source).status)
            except SourceBusyError:
                outcomes.append("busy")

    threads = [threading.Thread(target=contender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes) == ["busy", "busy", "busy", "succeeded"]
    with session_factory() as s:
        assert len(list_runs(s, cursor_source)) == 1
        assert_ledger_matches(s, cursor_platform)
