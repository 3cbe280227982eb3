"""Real database faults, made by the tests: killed PostgreSQL backends, refused connections, a
SQLite file made read-only, held locked and on a full disk. Each test checks the answers during
the fault (503 problem+json with ``Retry-After``, ``/readyz`` saying why) and after it (the
service recovered by itself: no restart, nothing half-written, nothing appended twice)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from ledger.access.clients import create_client
from ledger.entries.audit import verify_ledger
from tests.factories import city_source, record
from tests.integration.api.conftest import AnswerCheckingClient

MakeApp = Callable[..., Flask]
IS_ROOT = os.geteuid() == 0


@pytest.fixture
def make_app() -> Iterator[MakeApp]:
    """``make_app(url, **config)``: the app on ``url``, answers checked against the document."""
    made: list[Flask] = []

    def make(url: str, **config: Any) -> Flask:
        app = create_app({"DATABASE_URL": url, "TESTING": True, **config})
        app.test_client_class = AnswerCheckingClient
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["cehours"].engine.dispose()


def client_key(app: Flask, role: str) -> str:
    """A key of ``role`` (a platform's for the city source), made in a session of its own."""
    with app.extensions["cehours"].sessions() as session:
        source = city_source(session) if role == "platform" else None
        _, key = create_client(session, name=f"fault {role}", role=role, source_id=source)
    return key


def post_records(http: FlaskClient, key: str, *ids: str, person: int = 1) -> Any:
    batch = {"records": [record(i, person=person) for i in ids]}
    return http.post("/v1/records", json=batch, headers={"Authorization": f"Bearer {key}"})


def assert_unavailable(response: Any) -> None:
    """A database fault as the contract wants it: 503, problem+json, Retry-After."""
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["status"] == 503


def ledger_state(app: Flask) -> tuple[bool, int, list[str]]:
    """(the audit passes, credits held, the external ids of the records held)."""
    import sqlalchemy as sa

    with app.extensions["cehours"].sessions() as session:
        report = verify_ledger(session)
        with session.begin():
            credits = session.scalar(sa.text("SELECT count(*) FROM entries WHERE kind='credit'"))
            ids = list(session.scalars(sa.text("SELECT external_id FROM records ORDER BY 1")))
    return report.ok, int(credits or 0), ids


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def can_mount(tmp_path: Path) -> bool:
    """Whether this process may mount file systems (root with CAP_SYS_ADMIN)."""
    if not IS_ROOT:
        return False
    probe = tmp_path / "mount-probe"
    probe.mkdir()
    try:
        mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    umount(probe)
    return True
