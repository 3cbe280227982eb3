"""Liveness and readiness probes, and errors for requests no route answers."""

from __future__ import annotations

from flask.testing import FlaskClient

from api.app import create_app
from tests.factories import id_number


def test_healthz_answers_without_a_credential(http: FlaskClient) -> None:
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_migration_head(http: FlaskClient) -> None:
    response = http.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"


def test_readyz_is_503_on_an_unmigrated_database(tmp_path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert "cehours db upgrade" in response.get_json()["detail"]
    app.extensions["cehours"].engine.dispose()


def test_unknown_route_is_a_404_problem(http: FlaskClient) -> None:
    response = http.get("/no/such/thing")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert body["status"] == 404


def test_wrong_method_is_a_405_problem_with_allow(http: FlaskClient) -> None:
    response = http.delete("/healthz")
    assert response.status_code == 405
    assert response.content_type == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_request_id_is_echoed_or_generated(http: FlaskClient) -> None:
    echoed = http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    replaced = http.get("/healthz", headers={"X-Request-ID": "not an id"})
    assert replaced.headers["X-Request-ID"]
    assert replaced.headers["X-Request-ID"] != "not an id"
    problem = http.get("/nowhere", headers={"X-Request-ID": "req-9"}).get_json()
    assert problem["request_id"] == "req-9"


def test_a_redirect_is_a_problem_that_says_where(http: FlaskClient) -> None:
    response = http.post("/v1//records", json={"records": []})
    assert response.status_code == 308
    assert response.content_type == "application/problem+json"
    assert response.headers["Location"].endswith("/v1/records")


def test_a_request_id_that_may_hold_an_id_number_is_replaced_not_echoed(
    http: FlaskClient,
) -> None:
    for given in (id_number(8), f"trace-{id_number(8)}", id_number(8)[:17] + "x"):
        answer = http.get("/healthz", headers={"X-Request-ID": given})
        assert answer.headers["X-Request-ID"] != given
        assert id_number(8)[6:14] not in answer.headers["X-Request-ID"]
