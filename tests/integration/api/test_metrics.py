"""/metrics: requests by route and status, records by source and status, attestations, pool."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from ledger.attestations import signing_keys
from tests.factories import id_number, record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)

# The app must find the key-encryption key in the environment when it starts.
pytestmark = pytest.mark.usefixtures("kek")

SOURCE = "quzhou-city"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(http: FlaskClient) -> dict[str, Any]:
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}


def test_requests_are_counted_by_route_template_and_status(http: FlaskClient) -> None:
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    before = value("cehours_http_requests_total", **labels)
    for _ in range(3):
        http.get("/healthz")
    http.get("/no-such-page")
    http.get("/v1/attestations/some-unknown-jti/status")
    assert value("cehours_http_requests_total", **labels) == before + 3
    assert value("cehours_http_requests_total", method="GET", route="(unmatched)", status="404")
    assert value("cehours_http_request_duration_seconds_count", method="GET", route="/healthz")
    families = scrape(http)
    assert families["cehours_http_request_duration_seconds"].type == "histogram"
    routes = {s.labels.get("route") for s in families["cehours_http_requests"].samples}
    # A path with an id in it is counted under its URL rule, never under the id.
    assert "/v1/attestations/<string:jti>/status" in routes
    assert not any("some-unknown-jti" in r for r in routes if r)


def test_records_are_counted_by_source_and_status(http: FlaskClient, keys: dict[str, str]) -> None:
    def count(status: str) -> float:
        return value("cehours_records_total", source=SOURCE, status=status)

    before = {s: count(s) for s in ("created", "duplicate", "rejected", "conflict")}
    batch = [record("m1"), record("m2"), {**record("m3"), "hours": "-1"}]
    response = http.post("/v1/records", json={"records": batch}, headers=auth(keys["platform"]))
    assert response.status_code == 200
    again = [record("m1"), {**record("m2"), "hours": "7.5"}]
    http.post("/v1/records", json={"records": again}, headers=auth(keys["platform"]))
    assert count("created") == before["created"] + 2
    assert count("rejected") == before["rejected"] + 1
    assert count("duplicate") == before["duplicate"] + 1
    assert count("conflict") == before["conflict"] + 1


def test_attestations_issued_revoked_and_made_stale_are_counted(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes
) -> None:

    signing_keys.create_key(app_session, kek, actor="ops")
    push = http.post(
        "/v1/records",
        json={"records": [record("a", hours="95", completed_on="2024-05-01")]},
        headers=auth(keys["platform"]),
    )
    assert push.status_code == 200
    issued_before = value(
        "cehours_attestations_issued_total", profile="quzhou-annual-90", compliant="true"
    )
    stale_before = value("cehours_attestation_status_changes_total", status="stale")
    revoked_before = value("cehours_attestation_status_changes_total", status="revoked")
    body = {"id_number": id_number(1), "profile": "quzhou-annual-90", "as_of": "2024-12-31"}
    jtis = []
    for _ in range(2):
        response = http.post("/v1/attestations", json=body, headers=auth(keys["filing"]))
        assert response.status_code == 201, response.json
        jtis.append(response.json["jti"])
    revoke = http.post(
        f"/v1/attestations/{jtis[0]}/revocation",
        json={"reason": "falsified material"},
        headers=auth(keys["admin"]),
    )
    assert revoke.status_code == 200, revoke.json
    reversal = http.post(
        "/v1/records/a/reversal",
        json={"reason": "course cancelled"},
        headers=auth(keys["platform"]),
    )
    assert reversal.status_code == 201, reversal.json
    assert (
        value("cehours_attestations_issued_total", profile="quzhou-annual-90", compliant="true")
        == issued_before + 2
    )
    assert value("cehours_attestation_status_changes_total", status="revoked") == revoked_before + 1
    # Only the attestation still valid becomes stale; the revoked one stays revoked.
    assert value("cehours_attestation_status_changes_total", status="stale") == stale_before + 1


def test_pool_gauges_follow_connections_in_use(http: FlaskClient, keys: dict[str, str]) -> None:
    checkouts = value("cehours_db_pool_checkouts_total")
    http.post("/v1/people/lookup", json={"id_number": id_number(9)}, headers=auth(keys["filing"]))
    assert value("cehours_db_pool_checkouts_total") > checkouts
    families = scrape(http)
    for name in (
        "cehours_db_pool_connections_in_use",
        "cehours_db_pool_connections_open",
        "cehours_db_pool_connections_limit",
    ):
        assert name in families
    # Between requests every connection is back in the pool.
    assert value("cehours_db_pool_connections_in_use") >= 0


def test_metrics_carry_no_id_number(http: FlaskClient, keys: dict[str, str]) -> None:
    number = id_number(4)
    http.post(
        "/v1/records",
        json={"records": [record("p1", person=4)]},
        headers=auth(keys["platform"]),
    )
    http.post("/v1/people/lookup", json={"id_number": number}, headers=auth(keys["filing"]))
    assert number not in http.get("/metrics").get_data(as_text=True)
