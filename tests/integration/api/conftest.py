"""Fixtures for the HTTP API tests: a platform key for the city source (the app is shared)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.factories import city_source


@pytest.fixture
def source(app_session: Session) -> str:
    return city_source(app_session)


@pytest.fixture
def platform_key(make_key: Callable[..., str], source: str) -> str:
    return make_key("platform", source=source)


def bearer(key: str, **headers: Any) -> dict[str, Any]:
    return {"Authorization": f"Bearer {key}", **headers}
