"""The API through PgBouncer in transaction mode (Debian 12's 1.18, which cannot follow
server-side prepared statements): the append path far past psycopg's prepare threshold, from
threads at once, and every transaction counted by PgBouncer itself."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from api.app import create_app
from ledger.access.clients import create_client
from ledger.entries.audit import verify_ledger
from tests.conftest import through_pgbouncer
from tests.factories import city_source, id_number, record
from tests.pg_servers import PG_BIN, PgBouncer

THREADS, BATCHES, PER_BATCH = 4, 8, 25


@pytest.fixture
def bouncer_url(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    pg_template: str | None,
    tmp_path: Path,
) -> Iterator[str]:
    yield from through_pgbouncer(
        "postgresql-pgbouncer", sqlite_template, pg_template, tmp_path, request
    )


def transactions_seen_by_pgbouncer(bouncer: PgBouncer, database: str) -> int:
    """``SHOW STATS`` on PgBouncer's console: transactions it pooled for ``database``."""
    shown = subprocess.run(
        [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(bouncer.port), "-U", "postgres",
         "-At", "-F", "|", "-c", "SHOW STATS", "pgbouncer"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in shown.stdout.splitlines():
        fields = line.split("|")
        if fields[0] == database:
            return int(fields[1])  # total_xact_count
    return 0


@pytest.mark.postgres
def test_concurrent_batches_through_pgbouncer_in_transaction_mode_all_land(
    bouncer_url: str, pgbouncer: PgBouncer
) -> None:
    assert f":{pgbouncer.port}/" in bouncer_url
    app: Flask = create_app({"DATABASE_URL": bouncer_url, "TESTING": True})
    database = bouncer_url.rsplit("/", 1)[1]
    with app.extensions["cehours"].sessions() as session:
        city_source(session)
        _, platform = create_client(session, name="p", role="platform", source_id="quzhou-city")
        _, filing = create_client(session, name="f", role="filing")
    before = transactions_seen_by_pgbouncer(pgbouncer, database)

    def push(thread: int) -> list[str]:
        http = app.test_client()
        statuses = []
        for batch in range(BATCHES):
            records = [
                record(f"pb-{thread}-{batch}-{n}", person=thread * 100 + n, hours="2.5")
                for n in range(PER_BATCH)
            ]
            answer = http.post(
                "/v1/records",
                json={"records": records},
                headers={"Authorization": f"Bearer {platform}"},
            )
            assert answer.status_code == 200, answer.get_json()
            statuses += [r["status"] for r in answer.get_json()["results"]]
            found = http.post(
                "/v1/people/lookup",
                json={"id_number": id_number(thread * 100)},
                headers={"Authorization": f"Bearer {filing}"},
            )
            assert found.status_code == 200, found.get_json()
        return statuses

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [s for part in pool.map(push, range(THREADS)) for s in part]

    assert statuses == ["created"] * THREADS * BATCHES * PER_BATCH
    with app.extensions["cehours"].sessions() as session:
        report = verify_ledger(session)
    assert report.ok, report.problems
    assert report.entries == THREADS * BATCHES * PER_BATCH
    assert transactions_seen_by_pgbouncer(pgbouncer, database) >= before + THREADS * BATCHES
    app.extensions["cehours"].engine.dispose()
