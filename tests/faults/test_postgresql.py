"""PostgreSQL faults: a backend killed in the middle of a request, connections refused (the
database closed to connections), the network path to the server cut."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.factories import id_number
from tests.faults.conftest import (
    MakeApp,
    assert_unavailable,
    client_key,
    ledger_state,
    post_records,
)
from tests.faults.databases import admin, set_connections
from tests.faults.proxy import TcpProxy

pytestmark = pytest.mark.postgres


def waiting_backend(url: str, timeout: float = 20) -> int:
    """The pid of the app's backend that waits for a lock (the request in flight)."""
    engine = admin(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pid = conn.scalar(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() LIMIT 1"
                    )
                )
            if pid is not None:
                return int(pid)
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("no request was waiting for the lock")


def killed_while_waiting(url: str, table: str, request: Any) -> Any:
    """Run ``request`` while ``table`` is locked, kill its backend as it waits, then unlock;
    return its answer."""
    out: dict[str, Any] = {}
    engine = admin(url)
    with engine.connect() as locker:
        locker.exec_driver_sql("BEGIN")
        locker.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        thread = threading.Thread(target=lambda: out.setdefault("answer", request()))
        thread.start()
        try:
            pid = waiting_backend(url)
            with engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            time.sleep(0.2)  # let the request see it before the lock goes
        finally:
            locker.exec_driver_sql("ROLLBACK")
    thread.join(30)
    engine.dispose()
    return out["answer"]


def test_a_read_whose_backend_is_killed_mid_request_is_a_503_then_the_next_is_served(
    make_app: MakeApp, pg_db_url: str
) -> None:
    app = make_app(pg_db_url, DB_PING_AFTER_IDLE_SECONDS=3600)
    key = client_key(app, "filing")
    lookup = {"id_number": id_number(1)}

    def look_up() -> Any:
        return app.test_client().post(
            "/v1/people/lookup", json=lookup, headers={"Authorization": f"Bearer {key}"}
        )

    assert look_up().status_code == 404  # nobody yet: the pool holds a live connection
    assert_unavailable(killed_while_waiting(pg_db_url, "people", look_up))
    assert look_up().status_code == 404
    assert app.test_client().get("/readyz").status_code == 200


def test_a_statement_that_outlasts_the_statement_timeout_is_a_503_and_the_lock_holder_keeps_going(
    make_app: MakeApp, pg_db_url: str
) -> None:
    # The lock wait alone would last a minute: what ends the request is statement_timeout.
    app = make_app(pg_db_url, DB_LOCK_TIMEOUT_SECONDS=60, DB_STATEMENT_TIMEOUT_SECONDS=0.5)
    key = client_key(app, "filing")

    def look_up() -> Any:
        return app.test_client().post(
            "/v1/people/lookup",
            json={"id_number": id_number(2)},
            headers={"Authorization": f"Bearer {key}"},
        )

    with app.extensions["cehours"].sessions() as session:
        assert session.scalar(sa.text("SHOW statement_timeout")) == "500ms"
    engine = admin(pg_db_url)
    try:
        with engine.connect() as locker:
            locker.exec_driver_sql("BEGIN")
            locker.exec_driver_sql("LOCK TABLE people IN ACCESS EXCLUSIVE MODE")
            answer = look_up()
            # Answered while the lock is still held, as a fault to retry, not as lost writers.
            assert_unavailable(answer)
            assert answer.get_json()["type"].endswith(":database-unavailable")
            assert locker.scalar(sa.text("SELECT count(*) FROM people")) == 0
            locker.exec_driver_sql("ROLLBACK")
    finally:
        engine.dispose()
    assert look_up().status_code == 404


def test_a_write_whose_backend_is_killed_before_commit_is_run_again_and_kept_once(
    make_app: MakeApp, pg_db_url: str
) -> None:
    app = make_app(pg_db_url, DB_PING_AFTER_IDLE_SECONDS=3600)
    http = app.test_client()
    key = client_key(app, "platform")
    assert post_records(http, key, "w1").status_code == 200
    answer = killed_while_waiting(pg_db_url, "records", lambda: post_records(http, key, "w2"))
    # The transaction died before its commit, so the use case ran it again on a new connection.
    assert answer.status_code == 200
    assert [r["status"] for r in answer.get_json()["results"]] == ["created"]
    again = post_records(http, key, "w1", "w2")
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate", "duplicate"]
    assert ledger_state(app) == (True, 2, ["w1", "w2"])


def test_a_database_refusing_connections_is_503_and_not_ready_until_it_accepts_them(
    make_app: MakeApp, pg_db_url: str
) -> None:
    app = make_app(pg_db_url)
    http = app.test_client()
    key = client_key(app, "platform")
    assert post_records(http, key, "r1").status_code == 200
    set_connections(pg_db_url, allowed=False)
    try:
        for _ in range(3):  # the pooled connection was killed; new ones are refused
            assert_unavailable(post_records(http, key, "r2"))
        ready = http.get("/readyz")
        assert_unavailable(ready)
        assert ready.get_json()["type"].endswith(":not-ready")
    finally:
        set_connections(pg_db_url, allowed=True)
    answer = post_records(http, key, "r2")
    assert [r["status"] for r in answer.get_json()["results"]] == ["created"]
    assert http.get("/readyz").status_code == 200
    assert ledger_state(app) == (True, 2, ["r1", "r2"])


def test_a_cut_network_path_is_503_and_the_service_recovers_when_it_is_back(
    make_app: MakeApp, pg_db_url: str
) -> None:
    url = make_url(pg_db_url)
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        app = make_app(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
        http = app.test_client()
        key = client_key(app, "platform")
        assert post_records(http, key, "n1").status_code == 200
        proxy.cut()  # pooled connections reset, new ones refused
        assert_unavailable(post_records(http, key, "n2"))
        assert_unavailable(post_records(http, key, "n2"))
        assert_unavailable(http.get("/readyz"))
        proxy.restore()
        answer = post_records(http, key, "n2")
        assert [r["status"] for r in answer.get_json()["results"]] == ["created"]
        assert http.get("/readyz").status_code == 200
        assert ledger_state(app) == (True, 2, ["n1", "n2"])
