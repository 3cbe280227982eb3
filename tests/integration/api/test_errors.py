"""Unexpected failures: a bare 500 problem for the caller, a redacted log line with the request
id for the operator."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import RedactingFormatter, RequestIdFilter
from api.resources import people
from tests.factories import id_number
from tests.integration.api.conftest import bearer


@pytest.fixture
def api_log() -> Iterator[io.StringIO]:
    """What the server's own log handler would print."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(RedactingFormatter("[%(request_id)s] %(message)s"))
    logger = logging.getLogger("api")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_an_unexpected_exception_is_a_500_problem_without_a_stack_trace(
    app: Flask,
    http: FlaskClient,
    make_key: object,
    monkeypatch: pytest.MonkeyPatch,
    api_log: io.StringIO,
) -> None:
    number = id_number(3)

    def explode(session: object, id_number: str) -> str:
        raise RuntimeError(f"database fell over while looking up {id_number}")

    monkeypatch.setattr(people, "find_person_id", explode)
    key = make_key("filing")  # type: ignore[operator]
    response = http.post(
        "/v1/people/lookup",
        json={"id_number": number},
        headers=bearer(key, **{"X-Request-ID": "trace-me"}),
    )
    assert response.status_code == 500
    assert response.content_type == "application/problem+json"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "fell over" not in body
    assert response.get_json()["request_id"] == "trace-me"
    logged = api_log.getvalue()
    assert "[trace-me] unhandled RuntimeError" in logged
    assert "Traceback" in logged
    assert number not in logged
    assert key not in logged
