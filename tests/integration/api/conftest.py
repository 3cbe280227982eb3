"""Fixtures for the HTTP API tests: a platform key for the city source (the app is shared),
and a test client that checks every answer against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from tests.conformance import check_answer
from tests.factories import city_source


class AnswerCheckingClient(FlaskClient):
    """Flask's test client; each answer is checked (:mod:`tests.conformance`) as it arrives."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        environ = response.request.environ
        check_answer(
            environ["REQUEST_METHOD"],
            environ["RAW_URI"],
            response.status_code,
            response.headers.get("Content-Type"),
            response.get_data(),
        )
        return response


@pytest.fixture
def app(app: Flask) -> Flask:
    """The shared app, whose test clients check every answer against the OpenAPI document."""
    app.test_client_class = AnswerCheckingClient
    return app


@pytest.fixture
def source(app_session: Session) -> str:
    return city_source(app_session)


@pytest.fixture
def platform_key(make_key: Callable[..., str], source: str) -> str:
    return make_key("platform", source=source)


def bearer(key: str, **headers: Any) -> dict[str, Any]:
    return {"Authorization": f"Bearer {key}", **headers}
