"""Reads on a real streaming replica (api.reads, ledger.db.routing): where reads go, the lag
bound, read-your-writes, a replica stopped and restarted, both servers down."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from prometheus_client import REGISTRY

from tests.factories import id_number, record
from tests.integration.replicas.conftest import Pair
from tests.pg_servers import wait_replayed

_people = itertools.count(7000)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def reads(target: str) -> float:
    return sample("cehours_db_reads_total", target=target)


def fallbacks(reason: str) -> float:
    return sample("cehours_db_read_fallbacks_total", replica="replica1", reason=reason)


def post_record(app: Flask, key: str, person: int, *, admin: bool = False) -> None:
    body = {"records": [record(f"r-{uuid.uuid4().hex[:12]}", person=person)]}
    url = "/v1/records?source=quzhou-city" if admin else "/v1/records"
    answer = app.test_client().post(url, json=body, headers=bearer(key))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["results"][0]["status"] == "created"


def transcript(app: Flask, key: str, person: int) -> Any:
    http = app.test_client()
    found = http.post(
        "/v1/people/lookup", json={"id_number": id_number(person)}, headers=bearer(key)
    )
    assert found.status_code == 200, found.get_json()
    answer = http.get(f"/v1/people/{found.get_json()['person_id']}/transcript", headers=bearer(key))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def replica_lag(pair: Pair) -> float:
    row = pair.replica.sql(
        "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 ELSE "
        "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
    )
    return float(row[0][0])


def test_reads_are_answered_by_the_replica_and_writes_by_the_primary(
    pair: Pair, make_app: Callable[..., Flask], key_for: Callable[[str], str]
) -> None:
    app = make_app(READ_MAX_LAG_SECONDS=3600)  # any lag is within the bound here
    person, platform, filing = next(_people), key_for("platform"), key_for("filing")
    post_record(app, platform, person)
    wait_replayed(pair.primary, pair.replica)
    before = reads("replica1")
    assert len(transcript(app, filing, person)["entries"]) == 1
    assert reads("replica1") == before + 2  # the lookup and the transcript
    # Proof that the replica answered, not the primary: with its replay paused it does not
    # have the second entry (the primary does), and the reader is told what the replica holds.
    pair.replica.sql("SELECT pg_wal_replay_pause()")
    post_record(app, platform, person)  # a write: the primary takes it while replay is paused
    assert len(transcript(app, filing, person)["entries"]) == 1
    pair.replica.sql("SELECT pg_wal_replay_resume()")
    wait_replayed(pair.primary, pair.replica)
    assert len(transcript(app, filing, person)["entries"]) == 2


def test_a_replica_behind_the_bound_is_skipped_and_used_again_when_it_caught_up(
    pair: Pair, make_app: Callable[..., Flask], key_for: Callable[[str], str]
) -> None:
    app = make_app(READ_MAX_LAG_SECONDS=1.0)
    person, platform, filing = next(_people), key_for("platform"), key_for("filing")
    post_record(app, platform, person)
    wait_replayed(pair.primary, pair.replica)
    pair.replica.sql("SELECT pg_wal_replay_pause()")
    post_record(app, platform, person)
    wait_until(lambda: replica_lag(pair) > 1.3)
    time.sleep(0.2)  # past the app's check interval
    lagging, primary = fallbacks("lag"), reads("primary")
    assert len(transcript(app, filing, person)["entries"]) == 2  # fresh: from the primary
    assert fallbacks("lag") >= lagging + 2
    assert reads("primary") == primary + 2
    assert sample("cehours_db_replica_lag_seconds", replica="replica1") > 1.0
    pair.replica.sql("SELECT pg_wal_replay_resume()")
    wait_replayed(pair.primary, pair.replica)
    time.sleep(0.2)
    on_replica = reads("replica1")
    assert len(transcript(app, filing, person)["entries"]) == 2
    assert reads("replica1") == on_replica + 2


def test_a_caller_reads_its_own_write_from_the_primary_while_the_replica_lacks_it(
    pair: Pair, make_app: Callable[..., Flask], key_for: Callable[[str], str]
) -> None:
    app = make_app(READ_MAX_LAG_SECONDS=3600)
    person, admin, filing = next(_people), key_for("admin"), key_for("filing")
    post_record(app, admin, person, admin=True)
    wait_replayed(pair.primary, pair.replica)
    pair.replica.sql("SELECT pg_wal_replay_pause()")
    post_record(app, admin, person, admin=True)
    behind = fallbacks("behind-write")
    # The admin wrote: its reads wait for a replica that replayed its write, so the primary
    # answers with both entries; another caller meanwhile is answered by the replica.
    assert len(transcript(app, admin, person)["entries"]) == 2
    assert fallbacks("behind-write") == behind + 2
    assert len(transcript(app, filing, person)["entries"]) == 1
    pair.replica.sql("SELECT pg_wal_replay_resume()")
    wait_replayed(pair.primary, pair.replica)
    time.sleep(0.2)
    on_replica = reads("replica1")
    assert len(transcript(app, admin, person)["entries"]) == 2  # replayed: the replica may answer
    assert reads("replica1") == on_replica + 2


def test_a_stopped_replica_is_passed_over_and_used_again_once_restarted(
    pair: Pair, make_app: Callable[..., Flask], key_for: Callable[[str], str]
) -> None:
    app = make_app()
    person, platform, filing = next(_people), key_for("platform"), key_for("filing")
    post_record(app, platform, person)
    wait_replayed(pair.primary, pair.replica)
    assert len(transcript(app, filing, person)["entries"]) == 1  # pools a replica connection
    pair.replica.stop()
    primary = reads("primary")
    for _ in range(3):
        assert len(transcript(app, filing, person)["entries"]) == 1
    assert reads("primary") >= primary + 6
    assert sample("cehours_db_replica_up", replica="replica1") == 0
    pair.replica.start()
    wait_replayed(pair.primary, pair.replica)
    time.sleep(0.2)
    on_replica = reads("replica1")
    assert len(transcript(app, filing, person)["entries"]) == 1
    assert reads("replica1") == on_replica + 2
    assert sample("cehours_db_replica_up", replica="replica1") == 1


def test_with_the_primary_down_the_replica_answers_and_with_both_down_503(
    pair: Pair, make_app: Callable[..., Flask], key_for: Callable[[str], str]
) -> None:
    app = make_app(AUTH_CACHE_SECONDS=3600)  # the key was checked before the primary went down
    person, platform, filing = next(_people), key_for("platform"), key_for("filing")
    post_record(app, platform, person)
    wait_replayed(pair.primary, pair.replica)
    assert len(transcript(app, filing, person)["entries"]) == 1
    pair.primary.stop()
    time.sleep(0.2)
    assert len(transcript(app, filing, person)["entries"]) == 1  # the replica alone
    pair.replica.stop()
    answer = app.test_client().post(
        "/v1/people/lookup", json={"id_number": id_number(person)}, headers=bearer(filing)
    )
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    assert id_number(person) not in answer.get_data(as_text=True)
