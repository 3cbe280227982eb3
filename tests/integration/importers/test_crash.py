"""A sync process that dies at any point resumes on the next run without loss or duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from sqlalchemy.orm import Session

from importers.runner import sync_source
from ledger.sync.runs import get_cursor, list_runs
from tests.integration.importers.fake_platform import FakePlatform
from tests.integration.importers.helpers import assert_ledger_matches

# The child syncs, and dies (os._exit: no cleanup, like SIGKILL) once page two's records are
# committed but before the page's cursor is: the worst moment.
CHILD = textwrap.dedent(
    """
    import os, sys
    import importers.runner as runner
    from ledger.db.engine import make_engine, make_session_factory

    real = runner.record_page
    calls = []

    def dying_record_page(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os._exit(9)
        return real(*args, **kwargs)

    runner.record_page = dying_record_page
    session = make_session_factory(make_engine(os.environ["URL"]))()
    runner.sync_source(session, sys.argv[1], holder="child")
    """
)


def test_dying_between_committing_a_page_and_its_cursor_loses_and_repeats_nothing(
    session: Session, db_url: str, cursor_platform: FakePlatform, cursor_source: str
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, cursor_source],
        env={**os.environ, "URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 9, child.stderr
    # Page one's cursor was saved; page two's records are in, its cursor is not.
    assert get_cursor(session, cursor_source) == {"cursor": "10"}

    # The dead child's lease is left behind; once it expires a new sync takes over.
    from ledger.sync.tables import SyncLease

    with session.begin():
        lease = session.get(SyncLease, cursor_source)
        assert lease is not None
        lease.expires_at = lease.acquired_at
    run = sync_source(session, cursor_source)

    assert run.status == "succeeded"
    assert (run.duplicates, run.created) == (10, 5)
    assert_ledger_matches(session, cursor_platform)


def test_a_cli_sync_killed_mid_run_resumes_from_its_last_committed_page(
    sqlite_session: Session, sqlite_url: str, cursor_platform: FakePlatform
) -> None:
    from tests.integration.importers.conftest import make_source

    source = make_source(sqlite_session, cursor_platform, lease_seconds=1)
    # Page three hangs long enough for the kill to land while the child waits for it.
    cursor_platform.faults.extend(["ok", "ok", "hang"])
    cursor_platform.hang_seconds = 5
    cehours = os.path.join(os.path.dirname(sys.executable), "cehours")
    child = subprocess.Popen(
        [cehours, "sync", source],
        env={**os.environ, "CEHOURS_DATABASE_URL": sqlite_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill once page two is committed and page three is being fetched.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        len(cursor_platform.requests) >= 3
        and get_cursor(sqlite_session, source) == {"cursor": "20"}
    ):
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    assert get_cursor(sqlite_session, source) == {"cursor": "20"}
    (dead,) = list_runs(sqlite_session, source)
    assert (dead.status, dead.pages, dead.created) == ("running", 2, 20)
    time.sleep(1.1)  # the dead process's lease runs out
    cursor_platform.hang_seconds = 0
    run = sync_source(sqlite_session, source)
    assert (run.status, run.created, run.duplicates) == ("succeeded", 5, 0)
    assert_ledger_matches(sqlite_session, cursor_platform)
    assert list_runs(sqlite_session, source)[1].status == "failed"
