"""Fixtures for the HTTP API: an app on a fresh migrated database, clients and their keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ledger.credentials import create_client
from tests.factories import city_source


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
def source(app_session: Session) -> str:
    return city_source(app_session)


@pytest.fixture
def platform_key(make_key: Callable[..., str], source: str) -> str:
    return make_key("platform", source=source)


def bearer(key: str, **headers: Any) -> dict[str, Any]:
    return {"Authorization": f"Bearer {key}", **headers}
