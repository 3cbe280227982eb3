"""Fixtures shared by the integration suites: the Flask app on a fresh migrated database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.app import create_app
from ledger.access.clients import create_client
from ledger.attestations import key_encryption, signing_keys
from tests.factories import city_source
from tests.integration.ledger.attestations.helpers import ISSUER


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield app
    app.extensions["cehours"].engine.dispose()


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def app_session(app: Flask) -> Iterator[Session]:
    """A session on the app's database, for arranging data and looking at the outcome."""
    with app.extensions["cehours"].sessions() as s:
        yield s


@pytest.fixture
def keys(app_session: Session) -> dict[str, str]:
    """An API key per role (the platform's bound to the city source)."""
    source = city_source(app_session)
    made = {}
    for role in ("platform", "filing", "admin"):
        _, made[role] = create_client(
            app_session,
            name=f"{role} client",
            role=role,
            source_id=source if role == "platform" else None,
        )
    return made


@pytest.fixture
def make_key(app_session: Session) -> Callable[..., str]:
    """Create a client and return its key: ``make_key("platform", source="quzhou-city")``."""

    def make(role: str, *, source: str | None = None, name: str | None = None) -> str:
        _, key = create_client(
            app_session, name=name or f"{role} test client", role=role, source_id=source
        )
        return key

    return make


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A key-encryption key (and the test issuer) in the environment. Tests whose app must see
    it from the start request it before ``app`` (``pytest.mark.usefixtures("kek")``)."""
    text = key_encryption.new_kek_text()
    monkeypatch.setenv(key_encryption.KEK_ENV, text)
    monkeypatch.setenv("CEHOURS_ISSUER", ISSUER)
    return key_encryption.parse_kek(text)


@pytest.fixture
def active_key(session: Session, kek: bytes) -> signing_keys.KeyInfo:
    """An active signing key, sealed under :func:`kek`."""
    return signing_keys.create_key(session, kek, actor="ops@test")
