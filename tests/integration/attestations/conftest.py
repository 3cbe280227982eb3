"""Fixtures: a key-encryption key in the environment, an issuer, and an active signing key."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from ledger import signing
from tests.integration.attestations.helpers import ISSUER


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> bytes:
    text = signing.new_kek_text()
    monkeypatch.setenv(signing.KEK_ENV, text)
    monkeypatch.setenv("CEHOURS_ISSUER", ISSUER)
    return signing.parse_kek(text)


@pytest.fixture
def active_key(session: Session, kek: bytes) -> signing.KeyInfo:
    return signing.create_key(session, kek, actor="ops@test")


@pytest.fixture
def app(kek: bytes, app: Flask) -> Flask:
    """The shared app, with a key-encryption key in the environment before it starts."""
    return app
