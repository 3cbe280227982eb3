"""Fixtures for production tests: an app with a key-encryption key, API keys per role."""

from __future__ import annotations

import pytest
from flask import Flask

from ledger import signing


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> bytes:
    text = signing.new_kek_text()
    monkeypatch.setenv(signing.KEK_ENV, text)
    return signing.parse_kek(text)


@pytest.fixture
def app(kek: bytes, app: Flask) -> Flask:
    """The shared app, with a key-encryption key in the environment before it starts."""
    return app
