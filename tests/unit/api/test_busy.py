"""A transaction that keeps losing to concurrent writers, or a fault of the database, is a 503
to retry, not a 500."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

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


class AdminShutdown(Exception):
    sqlstate = "57P01"  # terminating connection due to administrator command


def test_a_fault_of_the_database_answers_503_with_retry_after() -> None:
    error = OperationalError("SELECT 1", {}, AdminShutdown("terminating connection"))
    with Flask(__name__).test_request_context():
        response = handle_unexpected(error)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    body = json.loads(response.get_data())
    assert body["type"].endswith(":database-unavailable")
    assert "terminating" not in body["detail"]
