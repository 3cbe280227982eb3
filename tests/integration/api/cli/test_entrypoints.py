"""The container's commands, run outside Docker: migrate, serve, the health check, refusals.

The image runs ``cehours db upgrade`` (the compose ``migrate`` service), then ``cehours serve``
with ``CEHOURS_BIND``, and probes it with ``cehours healthcheck``. The same commands run here
against a temporary database, as real processes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ledger.attestations import key_encryption
from tests.conftest import fresh_database
from tests.factories import id_number

CEHOURS = str(Path(sys.executable).parent / "cehours")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CEHOURS_", "PROMETHEUS_"))}
    return {**env, "CEHOURS_DATABASE_URL": url, "CEHOURS_BIND": f"127.0.0.1:{port}", **extra}


def cehours(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CEHOURS, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def wait_healthy(base: str, server: subprocess.Popen[bytes], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("the server did not answer /healthz")


class Served:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log_path = log
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [CEHOURS, "serve", "--workers", "2", "--threads", "2", *args],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def pg_url(sqlite_template: Path, pg_template: str | None, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated PostgreSQL database (production runs on nothing else)."""
    yield from fresh_database("postgresql", sqlite_template, pg_template, tmp_path)


def test_migrate_then_serve_then_healthcheck_as_the_container_does(tmp_path: Path) -> None:
    port = free_port()
    env = environment(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", port)
    migrated = cehours("db", "upgrade", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "database at revision" in migrated.stdout
    server = Served(env, tmp_path / "serve.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server.process)
        probe = cehours("healthcheck", env=env)
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.strip() == "healthy"
        assert requests.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
        with requests.Session() as http:
            for _ in range(30):
                assert http.get(f"{base}/healthz", timeout=5).status_code == 200
        # Two workers, one exposition: the counts of both are added up (multi-process mode).
        text = requests.get(f"{base}/metrics", timeout=5).text
        line = next(
            row
            for row in text.splitlines()
            if row.startswith("cehours_http_requests_total{")
            and 'route="/healthz"' in row
            and 'status="200"' in row
        )
        assert float(line.rsplit(" ", 1)[1]) >= 31
    finally:
        server.stop()
    assert server.process.returncode == 0, server.output()
    assert cehours("healthcheck", env=env).returncode == 1


def test_production_mode_refuses_sqlite_and_never_listens(tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        f"sqlite:///{tmp_path / 'p.sqlite3'}",
        port,
        CEHOURS_ENV="production",
        CEHOURS_KEY_ENCRYPTION_KEY=key_encryption.new_kek_text(),
    )
    refused = cehours("serve", env=env)
    assert refused.returncode == 2
    assert "refusing to start in production: the database is not PostgreSQL" in refused.stderr
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_production_mode_refuses_dev_and_a_missing_key_encryption_key(pg_url: str) -> None:
    env = environment(pg_url, free_port(), CEHOURS_ENV="production", CEHOURS_DEV_IDP="1")
    refused = cehours("serve", env=env)
    assert refused.returncode == 2
    assert "CEHOURS_DEV_IDP is on" in refused.stderr
    assert "no key-encryption key" in refused.stderr
    env.pop("CEHOURS_DEV_IDP")
    env["CEHOURS_KEY_ENCRYPTION_KEY"] = key_encryption.new_kek_text()
    refused = cehours("serve", "--dev", env=env)
    assert refused.returncode == 2
    assert "CEHOURS_DEV is on" in refused.stderr


@pytest.mark.postgres
def test_production_server_on_postgresql_needs_a_signing_key_then_logs_json(
    pg_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(
        pg_url,
        port,
        CEHOURS_ENV="production",
        CEHOURS_KEY_ENCRYPTION_KEY=key_encryption.new_kek_text(),
    )
    refused = cehours("serve", env=env)
    assert refused.returncode == 2
    assert "no signing key is active: create one with `cehours keys create`" in refused.stderr
    assert cehours("keys", "create", env=env).returncode == 0
    assert cehours("config", "check", env=env).stdout.strip() == "config check: OK for production"

    server = Served(env, tmp_path / "serve.log")
    number = id_number(5)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server.process)
        assert cehours("healthcheck", env=env).returncode == 0
        answer = requests.post(
            f"{base}/v1/people/lookup",
            json={"id_number": number},
            headers={"X-Request-ID": "trace-42"},
            timeout=5,
        )
        assert answer.status_code == 401
        assert answer.headers["X-Request-ID"] == "trace-42"
    finally:
        server.stop()
    output = server.output()
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (lookup,) = [e for e in entries if e.get("request_id") == "trace-42"]
    assert lookup["route"] == "/v1/people/lookup"
    assert lookup["status"] == 401
    assert lookup["level"] == "INFO"
    assert number not in output
