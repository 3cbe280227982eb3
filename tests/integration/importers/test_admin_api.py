"""The admin endpoints of the sync: runs, status and quarantine, ID numbers masked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from api.app import create_app
from importers.runner import sync_source
from ledger.access.clients import create_client
from tests.integration.importers.conftest import make_source
from tests.integration.importers.fake_platform import FakePlatform
from tests.integration.importers.test_quarantine import BAD_ID


@pytest.fixture
def session(lite_session: Session) -> Session:
    """These tests are about HTTP, not the database: SQLite only."""
    return lite_session


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True})
    yield app
    app.extensions["cehours"].engine.dispose()


@pytest.fixture
def synced(session: Session, cursor_platform: FakePlatform) -> str:
    source = make_source(session, cursor_platform)
    cursor_platform.put("JL00004", sfzh=BAD_ID)
    sync_source(session, source)
    return source


def key(session: Session, role: str) -> dict[str, str]:
    source = "quzhou-pull" if role == "platform" else None
    _, secret = create_client(session, name=f"{role} key", role=role, source_id=source)
    return {"Authorization": f"Bearer {secret}"}


def test_admins_see_the_runs_with_their_counts(app: Flask, session: Session, synced: str) -> None:
    answer = app.test_client().get("/v1/sync/runs", headers=key(session, "admin"))

    assert answer.status_code == 200
    (run,) = answer.get_json()["runs"]
    assert (run["source_id"], run["status"], run["created"], run["rejected"]) == (
        synced,
        "succeeded",
        24,
        1,
    )


def test_admins_see_each_sources_status(app: Flask, session: Session, synced: str) -> None:
    answer = app.test_client().get("/v1/sync/status", headers=key(session, "admin"))

    (status,) = answer.get_json()["sources"]
    assert (status["source_id"], status["quarantined"], status["running_by"]) == (synced, 1, None)
    assert status["last_run"]["status"] == "succeeded"


def test_the_quarantine_lists_reasons_and_masked_payloads(
    app: Flask, session: Session, synced: str
) -> None:
    answer = app.test_client().get(
        f"/v1/sources/{synced}/quarantine", headers=key(session, "admin")
    )

    assert answer.status_code == 200
    assert BAD_ID not in answer.get_data(as_text=True)
    (item,) = answer.get_json()["records"]
    assert item["record_key"] == "JL00004"
    assert item["payload"]["sfzh"] == BAD_ID[:6] + "********" + BAD_ID[-4:]
    assert "id_number" in item["reason"]


def test_an_unknown_sources_quarantine_is_a_problem_404(app: Flask, session: Session) -> None:
    answer = app.test_client().get("/v1/sources/nope/quarantine", headers=key(session, "admin"))

    assert answer.status_code == 404
    assert answer.content_type == "application/problem+json"


def test_only_admins_may_look(app: Flask, session: Session, synced: str) -> None:
    client = app.test_client()

    assert client.get("/v1/sync/runs").status_code == 401
    assert client.get("/v1/sync/runs", headers=key(session, "filing")).status_code == 403
