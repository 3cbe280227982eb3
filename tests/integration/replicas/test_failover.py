"""Promotion of the replica when the primary is lost, and what the operator does next (the
steps of docs/operations.md, "Promotion"), on a pair of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from api.app import create_app
from ledger.access.clients import create_client
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.audit import verify_ledger
from tests.factories import id_number
from tests.integration.replicas.conftest import Pair, dispose, new_pair
from tests.integration.replicas.test_reads import (
    bearer,
    fallbacks,
    post_record,
    transcript,
    wait_until,
)
from tests.pg_servers import wait_replayed


@pytest.fixture
def own_pair() -> Iterator[Pair]:
    yield from new_pair("cehours-failover-")


def _app(database_url: str, read_url: str | None = None) -> Flask:
    config = {"DATABASE_URL": database_url, "TESTING": True, "READ_CHECK_SECONDS": 0.1}
    if read_url:
        config["READ_DATABASE_URL"] = read_url
    return create_app(config)


def _keys(url: str) -> tuple[str, str]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        _, platform = create_client(session, name="p", role="platform", source_id="quzhou-city")
        _, filing = create_client(session, name="f", role="filing")
    engine.dispose()
    return platform, filing


def test_a_promoted_replica_is_not_read_as_a_replica_and_serves_once_made_the_primary(
    own_pair: Pair,
) -> None:
    primary_url, replica_url = own_pair.urls()
    platform, filing = _keys(primary_url)
    before = _app(primary_url, replica_url)
    post_record(before, platform, 1)
    wait_replayed(own_pair.primary, own_pair.replica)
    assert len(transcript(before, filing, 1)["entries"]) == 1

    # The primary is lost; the operator promotes the replica (pg_ctl promote).
    own_pair.primary.stop("immediate")
    own_pair.replica.promote()
    wait_until(lambda: own_pair.replica.sql("SELECT pg_is_in_recovery()")[0][0] is False)
    time.sleep(0.2)
    # An app still configured as before refuses to read from a server that is no longer a
    # replica (it may be a split brain's other half): with its primary gone it answers 503.
    skipped = fallbacks("not-replica")
    answer = before.test_client().post(
        "/v1/people/lookup", json={"id_number": id_number(1)}, headers=bearer(filing)
    )
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "Retry-After" in answer.headers
    assert fallbacks("not-replica") > skipped

    # The operator's next step: the promoted server becomes CEHOURS_DATABASE_URL (and
    # READ_DATABASE_URL names the replicas made from it, none yet). Writes and reads work and
    # the ledger verifies.
    after = _app(replica_url)
    post_record(after, platform, 1)
    assert len(transcript(after, filing, 1)["entries"]) == 2
    engine = make_engine(replica_url)
    with make_session_factory(engine)() as session:
        report = verify_ledger(session)
    engine.dispose()
    assert report.ok, report.problems
    assert report.entries == 2
    for app in (before, after):
        dispose(app)
