"""``POST /v1/people/lookup``: the opaque person id for an ID number sent in the body."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.factories import id_number, record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.api.conftest import bearer


@pytest.fixture
def known_person(http: FlaskClient, platform_key: str) -> str:
    http.post(
        "/v1/records", json={"records": [record("p1", person=4)]}, headers=bearer(platform_key)
    )
    return id_number(4)


def test_a_filing_key_looks_a_person_up(
    http: FlaskClient, make_key: Callable[..., str], known_person: str
) -> None:
    response = http.post(
        "/v1/people/lookup", json={"id_number": known_person}, headers=bearer(make_key("filing"))
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["person_id"].startswith("p_")
    assert body["id_number_masked"] == known_person[:6] + "********" + known_person[-4:]
    assert known_person not in response.get_data(as_text=True)


def test_an_unknown_person_is_a_404_problem(
    http: FlaskClient, make_key: Callable[..., str]
) -> None:
    response = http.post(
        "/v1/people/lookup", json={"id_number": id_number(99)}, headers=bearer(make_key("admin"))
    )
    assert response.status_code == 404
    assert response.get_json()["type"] == "urn:cehours:problem:unknown-person"


def test_an_invalid_id_number_is_422(http: FlaskClient, make_key: Callable[..., str]) -> None:
    number = id_number(4)
    wrong = number[:17] + ("1" if number[17] == "0" else "0")
    response = http.post(
        "/v1/people/lookup", json={"id_number": wrong}, headers=bearer(make_key("filing"))
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"id_number": ["id_number check character is wrong"]}


def test_a_platform_key_may_not_look_people_up(
    http: FlaskClient, platform_key: str, known_person: str
) -> None:
    response = http.post(
        "/v1/people/lookup", json={"id_number": known_person}, headers=bearer(platform_key)
    )
    assert response.status_code == 403


def test_the_id_number_never_reaches_the_logs(
    http: FlaskClient,
    make_key: Callable[..., str],
    known_person: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = make_key("filing")
    with caplog.at_level(logging.DEBUG):
        http.post("/v1/people/lookup", json={"id_number": known_person}, headers=bearer(key))
        http.post("/v1/people/lookup", json={"id_number": id_number(98)}, headers=bearer(key))
    assert caplog.records
    assert known_person not in caplog.text
    assert id_number(98) not in caplog.text
    assert key not in caplog.text
