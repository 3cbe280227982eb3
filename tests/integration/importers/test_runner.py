"""Syncing from a real (fake) platform over loopback HTTP: whatever the platform does, the ledger
ends up holding exactly what the platform holds, each record once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from importers.errors import ConfigError, CredentialsError
from importers.runner import sync_source
from ledger.entries.tables import Entry
from ledger.sync.runs import get_cursor, list_runs
from tests.integration.importers.conftest import make_source
from tests.integration.importers.fake_platform import TOKEN_ENV, FakePlatform
from tests.integration.importers.helpers import SOURCE, assert_ledger_matches, platform_record


def entry_count(session: Session) -> int:
    with session.begin():
        return session.scalar(select(func.count()).select_from(Entry)) or 0


def test_a_first_sync_brings_in_every_platform_record_once(
    session: Session, platform: FakePlatform, source: str
) -> None:
    run = sync_source(session, source)

    assert run.status == "succeeded", run.error
    assert (run.created, run.rejected) == (25, 0)
    # updated_since re-reads each page's last update time (inclusive): those come as duplicates.
    assert run.fetched == run.created + run.duplicates
    assert run.pages >= 3
    assert_ledger_matches(session, platform)


def test_a_second_sync_with_nothing_new_appends_nothing(
    lite_session: Session, platform: FakePlatform, lite_source: str
) -> None:
    sync_source(lite_session, lite_source)
    before = entry_count(lite_session)

    run = sync_source(lite_session, lite_source)

    assert run.status == "succeeded"
    assert run.created == 0
    assert entry_count(lite_session) == before
    assert_ledger_matches(lite_session, platform)


def test_new_records_are_fetched_from_the_saved_cursor_on(
    lite_session: Session, platform: FakePlatform, lite_source: str
) -> None:
    sync_source(lite_session, lite_source)
    asked_before = len(platform.requests)
    platform.put("JL90000", **platform_record(90))

    run = sync_source(lite_session, lite_source)

    assert run.created == 1
    # Resumed near the end of the feed, not from the beginning.
    assert len(platform.requests) - asked_before <= 2
    assert_ledger_matches(lite_session, platform)


def test_a_record_changed_upstream_becomes_a_supersede_with_the_history_kept(
    session: Session, platform: FakePlatform, source: str
) -> None:
    sync_source(session, source)
    platform.put("JL00003", xs="8", kclb="一般公需科目")

    run = sync_source(session, source)

    assert run.superseded == 1
    assert_ledger_matches(session, platform)
    with session.begin():
        kinds = list(
            session.scalars(
                select(Entry.kind).where(Entry.external_id == "JL00003").order_by(Entry.id)
            )
        )
    assert kinds == ["credit", "reversal", "credit"]


@pytest.mark.parametrize(
    "faults",
    [
        ["500", "500", "500"],
        ["ok", "500", "ok", "503"],
        ["hang"],
        ["ok", "malformed"],
        ["ok", "truncated", "truncated"],
        ["ok", "short"],
        ["ok", "ok", "repeat"],
        ["ok", "repeat", "500", "repeat"],
    ],
    ids=["5xx", "5xx-later", "hang", "malformed", "truncated", "short-page", "repeat", "mixed"],
)
def test_transient_platform_failures_are_retried_and_the_ledger_is_exact(
    lite_session: Session, platform: FakePlatform, lite_source: str, faults: list[str]
) -> None:
    platform.faults.extend("500" if f == "503" else f for f in faults)
    platform.hang_seconds = 0.6

    run = sync_source(lite_session, lite_source)

    assert run.status == "succeeded", run.error
    assert run.created == 25
    assert_ledger_matches(lite_session, platform)


def test_429_is_retried_after_the_platforms_retry_after(
    lite_session: Session, platform: FakePlatform, lite_source: str
) -> None:
    platform.faults.extend(["ok", "429:1"])

    started = time.monotonic()
    run = sync_source(lite_session, lite_source)

    assert time.monotonic() - started >= 1.0
    assert run.status == "succeeded", run.error
    assert_ledger_matches(lite_session, platform)


def test_a_retry_after_beyond_the_budget_ends_the_run_without_waiting(
    lite_session: Session, cursor_platform: FakePlatform
) -> None:
    make_source(lite_session, cursor_platform)
    cursor_platform.faults.extend(["ok", "429:3600"])

    started = time.monotonic()
    run = sync_source(lite_session, SOURCE)

    assert time.monotonic() - started < 5
    assert run.status == "failed"
    assert run.error is not None
    assert "budget" in run.error
    assert run.pages == 1


def test_a_platform_that_keeps_failing_fails_the_run_and_the_next_run_resumes(
    lite_session: Session, platform: FakePlatform, lite_source: str
) -> None:
    platform.faults.extend(["ok", "500", "500", "500", "500", "500"])

    failed = sync_source(lite_session, lite_source)

    assert failed.status == "failed"
    assert failed.error is not None
    assert "gave up after 5 attempts" in failed.error
    assert (failed.pages, failed.created) == (1, 10)
    resumed = sync_source(lite_session, lite_source)
    assert resumed.status == "succeeded"
    assert resumed.created == 15
    assert_ledger_matches(lite_session, platform)


def test_a_platform_dying_mid_sync_loses_nothing_once_it_is_back(
    lite_session: Session, platform: FakePlatform, lite_source: str
) -> None:
    sync_source(lite_session, lite_source)
    for n in range(25, 60):
        platform.put(f"JL{n:05d}", **platform_record(n))
    platform.put("JL00001", xs="3")
    platform.faults.extend(["ok", "ok", "die"])

    failed = sync_source(lite_session, lite_source)

    assert failed.status == "failed"
    assert failed.error is not None
    assert "connection failed" in failed.error
    platform.start()
    resumed = sync_source(lite_session, lite_source)
    assert resumed.status == "succeeded", resumed.error
    assert failed.created + resumed.created == 35
    assert failed.superseded + resumed.superseded == 1
    assert_ledger_matches(lite_session, platform)


def test_a_refused_credential_stops_at_once_without_retrying(
    lite_session: Session, cursor_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_source(lite_session, cursor_platform)
    monkeypatch.setenv(TOKEN_ENV, "wrong-token")

    run = sync_source(lite_session, SOURCE)

    assert run.status == "failed"
    assert run.error is not None
    assert "HTTP 401" in run.error
    assert len(cursor_platform.requests) == 1
    assert get_cursor(lite_session, SOURCE) is None


def test_a_missing_credential_variable_is_reported_by_name(
    lite_session: Session, cursor_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_source(lite_session, cursor_platform)
    monkeypatch.delenv(TOKEN_ENV)

    with pytest.raises(CredentialsError, match=TOKEN_ENV):
        sync_source(lite_session, SOURCE)
    assert cursor_platform.requests == []


def test_a_source_without_pull_configuration_cannot_be_synced(
    lite_session: Session, cursor_platform: FakePlatform
) -> None:
    make_source(lite_session, cursor_platform)
    from ledger.entries.sources import set_source_config

    set_source_config(lite_session, SOURCE, None)

    with pytest.raises(ConfigError, match="no pull configuration"):
        sync_source(lite_session, SOURCE)


def test_runs_are_recorded_with_their_counts(
    lite_session: Session, platform: FakePlatform, lite_source: str
) -> None:
    sync_source(lite_session, lite_source, trigger="scheduler")
    platform.put("JL00002", xs="9")
    sync_source(lite_session, lite_source)

    latest, first = list_runs(lite_session, lite_source)

    assert (first.trigger, first.status, first.created) == ("scheduler", "succeeded", 25)
    assert latest.superseded == 1
    assert latest.started_at >= first.started_at
    assert latest.finished_at is not None


def test_a_platform_ignoring_the_page_size_is_still_read_whole(
    lite_session: Session, cursor_platform: FakePlatform
) -> None:
    for n in range(25, 1203):
        cursor_platform.put(f"JL{n:05d}", **platform_record(n))
    cursor_platform.page_size_override = 5000
    make_source(lite_session, cursor_platform)

    run = sync_source(lite_session, SOURCE)

    assert (run.status, run.pages, run.created) == ("succeeded", 1, 1203)
    assert_ledger_matches(lite_session, cursor_platform)
