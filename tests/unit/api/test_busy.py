"""A transaction that keeps losing to concurrent writers is a 503 to retry, not a 500."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy.exc import IntegrityError, ProgrammingError

from api.errors import handle_unexpected


def test_exhausted_retries_answer_503_with_retry_after() -> None:
    error = IntegrityError("INSERT INTO people ...", {}, Exception("duplicate key"))
    with Flask(__name__).test_request_context():
        response = handle_unexpected(error)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.mimetype == "application/problem+json"
    assert json.loads(response.get_data())["type"].endswith(":busy")


def test_other_database_errors_stay_a_bare_500() -> None:
    error = ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))
    with Flask(__name__).test_request_context():
        response = handle_unexpected(error)
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
