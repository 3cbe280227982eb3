"""A process killed in the middle of a batch loses nothing committed and a retry duplicates
nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.entries.append import append_records
from ledger.entries.audit import verify_ledger
from ledger.entries.tables import Entry
from tests.factories import city_source, record

# The child appends batch one, then dies by SIGKILL-equivalent (os._exit) after batch two's
# entries are inserted but before its transaction commits.
CHILD = textwrap.dedent(
    """
    import json, os, sys
    import ledger.entries.append as append
    from ledger.db.engine import make_engine, make_session_factory

    batches = json.loads(sys.stdin.read())
    session = make_session_factory(make_engine(os.environ["URL"]))()
    append.append_records(session, "quzhou-city", batches[0], actor="child")
    real_flush = append.flush

    def dying_flush(s, pending):
        real_flush(s, pending)
        os._exit(9)

    append.flush = dying_flush
    append.append_records(session, "quzhou-city", batches[1], actor="child")
    """
)


def test_a_crash_mid_batch_keeps_the_committed_batch_and_the_retry_is_exact(
    session: Session, db_url: str
) -> None:
    city_source(session)
    one = [record(f"one-{i}", person=i) for i in range(50)]
    two = [record(f"two-{i}", person=i) for i in range(50)]
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps([one, two]),
        env={**os.environ, "URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 9, child.stderr

    with session.begin():
        held = set(session.scalars(sa.select(Entry.external_id)))
    assert held == {r["external_id"] for r in one}

    # The platform did not hear back, so it retries both batches.
    assert {r.status for r in append_records(session, "quzhou-city", one, actor="retry")} == {
        "duplicate"
    }
    assert {r.status for r in append_records(session, "quzhou-city", two, actor="retry")} == {
        "created"
    }
    with session.begin():
        assert session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 100
    assert verify_ledger(session).ok
