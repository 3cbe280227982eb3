"""The real server: ``cehours serve`` (gunicorn workers) on loopback, driven over HTTP."""

from __future__ import annotations

import http.client
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.server import BIN, running_server
from tests.factories import record

TIMEOUT = 10


def cehours(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "cehours"), *args], env=env, capture_output=True, text=True, check=True
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A migrated SQLite database and ``cehours serve`` with two workers in front of it."""
    db = tmp_path_factory.mktemp("e2e") / "served.sqlite3"
    env = {**os.environ, "CEHOURS_DATABASE_URL": f"sqlite:///{db}"}
    cehours("db", "upgrade", env=env)
    log = db.with_suffix(".log")
    with running_server(env, log) as base:
        env["E2E_SERVER_LOG"] = str(log)
        yield base, env


@pytest.fixture(scope="module")
def platform_key(server: tuple[str, dict[str, str]]) -> str:
    _, env = server
    cehours(
        *("sources", "add", "e2e-city", "--kind", "city", "--region", "330800", "--name", "E2E"),
        env=env,
    )
    added = cehours(
        "clients", "add", "--name", "e2e", "--role", "platform", "--source", "e2e-city", env=env
    )
    return added.stdout.strip()


def test_a_platform_posts_a_batch_and_a_retry_is_all_duplicates(
    server: tuple[str, dict[str, str]], platform_key: str
) -> None:
    base, _ = server
    headers = {"Authorization": f"Bearer {platform_key}", "X-Request-ID": "e2e-1"}
    batch = {"records": [record("e1"), record("e2", hours="0"), record("e3", person=2)]}
    first = requests.post(f"{base}/v1/records", json=batch, headers=headers, timeout=TIMEOUT)
    assert first.status_code == 200
    assert first.headers["X-Request-ID"] == "e2e-1"
    assert [r["status"] for r in first.json()["results"]] == ["created", "rejected", "created"]
    again = requests.post(f"{base}/v1/records", json=batch, headers=headers, timeout=TIMEOUT)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "rejected", "duplicate"]


def test_server_logs_carry_request_ids_but_no_id_numbers_or_keys(
    server: tuple[str, dict[str, str]], platform_key: str
) -> None:
    base, env = server
    headers = {"Authorization": f"Bearer {platform_key}", "X-Request-ID": "e2e-log"}
    requests.post(
        f"{base}/v1/records",
        json={"records": [record("l1", person=7)]},
        headers=headers,
        timeout=TIMEOUT,
    )
    log = Path(env["E2E_SERVER_LOG"]).read_text()
    assert "[e2e-log]" in log
    assert "POST /v1/records 200" in log
    assert record("l1", person=7)["id_number"] not in log
    assert platform_key not in log


def test_the_server_answers_problems_and_serves_its_documentation(
    server: tuple[str, dict[str, str]],
) -> None:
    base, _ = server
    assert requests.get(f"{base}/healthz", timeout=TIMEOUT).json() == {"status": "ok"}
    missing = requests.get(f"{base}/v1/nothing", timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    unauthenticated = requests.post(f"{base}/v1/records", json={"records": []}, timeout=TIMEOUT)
    assert unauthenticated.status_code == 401
    assert requests.get(f"{base}/openapi.json", timeout=TIMEOUT).json()["openapi"].startswith("3.")
    assert "POST" in requests.get(f"{base}/docs", timeout=TIMEOUT).text


def test_a_50_mb_body_is_refused_with_413_before_it_is_read(
    server: tuple[str, dict[str, str]], platform_key: str
) -> None:
    base, _ = server
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=TIMEOUT)
    connection.putrequest("POST", "/v1/records")
    connection.putheader("Authorization", f"Bearer {platform_key}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(50 * 1024 * 1024))
    connection.endheaders()
    connection.send(b'{"records": [], "pad": "' + b"x" * 65536)
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    connection.close()
