"""``GET /v1/profiles``, ``GET /v1/profiles/{id}`` and ``POST /v1/compliance``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.resources.compliance import ComplianceSchema
from ledger.compliance.catalogue import PROFILES_DIR_ENV, get_profile
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from tests.factories import city_source, id_number, record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.api.conftest import bearer


def r4_records() -> list[dict]:
    """Initial determination (seed 002_3f11e0b9a6581793.txt): 72 specialised + 18 public."""
    return [
        record("i1", hours="72", completed_on="2020-03-01"),
        record("i2", category="industry_public", hours="10", completed_on="2020-04-01"),
        record("i3", category="general_public", hours="7.5", completed_on="2020-05-01"),
    ]


def test_profiles_are_listed_with_their_versions_and_digests(
    http: FlaskClient, make_key: Callable[..., str]
):
    response = http.get("/v1/profiles", headers=bearer(make_key("filing")))
    assert response.status_code == 200
    listed = {p["id"]: p for p in response.get_json()["profiles"]}
    r2 = get_profile("quzhou-2020-intermediate")
    assert listed[r2.id]["digest"] == r2.digest
    assert listed[r2.id]["title"]["zh"] == r2.title_zh


def test_one_profile_shows_its_rules_with_hours_as_strings(
    http: FlaskClient, make_key: Callable[..., str]
):
    key = make_key("filing")
    response = http.get("/v1/profiles/quzhou-2020-intermediate", headers=bearer(key))
    body = response.get_json()
    assert body["window"] == {"years": [2019, 2020]}
    assert [r["hours"] for r in body["rules"]] == ["180.0", "120.0", "36.0"]
    assert (
        http.get("/v1/profiles/quzhou-2020-intermediate@1", headers=bearer(key)).status_code == 200
    )
    missing = http.get("/v1/profiles/quzhou-2020-intermediate?version=9", headers=bearer(key))
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_a_platform_key_may_not_read_profiles_or_check_compliance(
    http: FlaskClient, make_key: Callable[..., str], app_session: Session
):
    key = make_key("platform", source=city_source(app_session))
    assert http.get("/v1/profiles", headers=bearer(key)).status_code == 403
    body = {"person_id": "p_x", "profile": "quzhou-annual-90"}
    assert http.post("/v1/compliance", json=body, headers=bearer(key)).status_code == 403
    assert http.post("/v1/compliance", json=body).status_code == 401


def test_compliance_by_id_number_explains_the_shortfall(
    http: FlaskClient, make_key: Callable[..., str], app_session: Session
):
    # seed: 002_3f11e0b9a6581793.txt (R4: public at least 18; here 17.5)
    source = city_source(app_session)
    created = append_records(app_session, source, r4_records(), actor="test")
    response = http.post(
        "/v1/compliance",
        json={
            "id_number": id_number(1),
            "profile": "quzhou-initial-determination",
            "as_of": "2020-12-31",
        },
        headers=bearer(make_key("filing")),
    )
    assert response.status_code == 200
    body = response.get_json()
    ComplianceSchema().load(body)  # the answer is what the OpenAPI document says
    assert body["compliant"] is False
    public = next(r for r in body["rules"] if r["id"] == "public")
    assert (public["required"], public["actual"], public["shortfall"]) == ("18.0", "17.5", "0.5")
    assert body["totals"]["2020"] == {
        "specialised": "72.0",
        "industry_public": "10.0",
        "general_public": "7.5",
        "total": "89.5",
    }
    assert body["counted_entry_ids"] == [r.entry_id for r in created]
    assert body["person_id"] == created[0].person_id
    assert id_number(1) not in response.get_data(as_text=True)


def test_compliance_without_entries_gives_the_same_outcome_from_balances(
    http: FlaskClient, make_key: Callable[..., str], app_session: Session
):
    source = city_source(app_session)
    created = append_records(app_session, source, r4_records(), actor="test")
    key = make_key("filing")
    request = {"person_id": created[0].person_id, "profile": "quzhou-initial-determination"}
    full = http.post("/v1/compliance", json=request | {"as_of": "2020-06-30"}, headers=bearer(key))
    quick = http.post(
        "/v1/compliance",
        json=request | {"as_of": "2020-06-30", "include_entries": False},
        headers=bearer(key),
    )
    a, b = full.get_json(), quick.get_json()
    assert (a["basis"], b["basis"], b["entries"]) == ("entries", "balances", [])
    for field in ("compliant", "rules", "totals", "window_totals"):
        assert a[field] == b[field]


def test_bad_compliance_requests_are_problems_not_errors(
    http: FlaskClient, make_key: Callable[..., str]
):
    key = make_key("filing")
    cases = [
        ({"profile": "quzhou-annual-90"}, 422),
        ({"person_id": "p_x", "id_number": "1", "profile": "quzhou-annual-90"}, 422),
        ({"person_id": "p_x", "profile": "quzhou-annual-90", "as_of": "2020-02-30"}, 422),
        ({"person_id": "p_x", "profile": "no-such-profile"}, 404),
        ({"person_id": "p_x", "profile": "quzhou-annual-90"}, 404),
        ({"id_number": "330802197001010012", "profile": "quzhou-annual-90"}, 422),
        ({"person_id": "p_x", "profile": "quzhou-annual-90", "as_of": "1900-01-01"}, 422),
        ({"person_id": "p_x", "profile": "quzhou-annual-90@x"}, 404),
    ]
    for body, status in cases:
        response = http.post("/v1/compliance", json=body, headers=bearer(key))
        assert (response.status_code, response.mimetype) == (status, "application/problem+json"), (
            body
        )


def test_a_repeated_check_after_a_reversal_reflects_the_reversal(
    http: FlaskClient, make_key: Callable[..., str], app_session: Session
):
    # Answers are reused only for the same ledger state: a new entry of the person moves it.
    source = city_source(app_session)
    created = append_records(app_session, source, r4_records()[:2], actor="test")
    key = make_key("filing")
    request = {
        "person_id": created[0].person_id,
        "profile": "quzhou-initial-determination",
        "as_of": "2020-12-31",
    }
    first = http.post("/v1/compliance", json=request, headers=bearer(key)).get_json()
    again = http.post("/v1/compliance", json=request, headers=bearer(key)).get_json()
    assert first == again
    assert first["window_totals"]["total"] == "82.0"
    reverse_record(app_session, source, "i2", reason="not attended", actor="operator")
    after = http.post("/v1/compliance", json=request, headers=bearer(key)).get_json()
    assert after["window_totals"]["total"] == "72.0"
    assert after["ledger"]["entry_count"] == first["ledger"]["entry_count"] + 1


def test_an_invalid_operator_profile_is_a_503_that_names_no_file(
    http: FlaskClient,
    make_key: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    (tmp_path / "broken.yaml").write_text("id: broken\n", "utf-8")
    monkeypatch.setenv(PROFILES_DIR_ENV, str(tmp_path))
    response = http.get("/v1/profiles", headers=bearer(make_key("filing")))
    assert (response.status_code, response.mimetype) == (503, "application/problem+json")
    assert "broken.yaml" not in response.get_data(as_text=True)
