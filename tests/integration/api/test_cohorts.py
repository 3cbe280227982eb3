"""``POST /v1/compliance/batch``: a cohort over HTTP, each person as ``POST /v1/compliance``
answers alone, errors person by person, and the envelope's own problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ledger.entries.append import append_records
from tests.factories import city_source, id_number, record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.api.conftest import bearer

# R1 (seed 002_3f11e0b9a6581793.txt): 90 hours in the year.
PROFILE = "quzhou-annual-90"
AS_OF = "2024-12-31"


def with_hours(session: Session, hours: dict[int, str]) -> None:
    source = city_source(session)
    append_records(
        session,
        source,
        [record(f"r-{n}", person=n, hours=h, completed_on="2024-05-01") for n, h in hours.items()],
        actor="platform",
    )


def batch(http: FlaskClient, key: str, people: list[Any], **extra: Any) -> Any:
    body = {"profile": PROFILE, "as_of": AS_OF, "people": people, **extra}
    return http.post("/v1/compliance/batch", json=body, headers=bearer(key))


@pytest.mark.parametrize("include_entries", [False, True])
def test_each_result_is_the_answer_post_compliance_gives_alone(
    http: FlaskClient, make_key: Callable[..., str], app_session: Session, include_entries: bool
) -> None:
    with_hours(app_session, {1: "95", 2: "40"})
    key = make_key("filing")
    people = [{"id_number": id_number(1), "ref": "ZC-1"}, {"id_number": id_number(2)}]
    response = batch(http, key, people, include_entries=include_entries)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["counts"] == {"compliant": 1, "not_compliant": 1, "errors": 0}
    assert body["as_of"] == AS_OF
    assert body["profile"]["id"] == PROFILE
    for n, item in zip((1, 2), body["results"], strict=True):
        alone = http.post(
            "/v1/compliance",
            json={
                "id_number": id_number(n),
                "profile": PROFILE,
                "as_of": AS_OF,
                "include_entries": include_entries,
            },
            headers=bearer(key),
        )
        assert item["compliance"] == alone.get_json()
        assert item["error"] is None
        assert item["person_id"] == alone.get_json()["person_id"]
    assert [i["ref"] for i in body["results"]] == ["ZC-1", None]
    assert bool(body["results"][0]["compliance"]["entries"]) is include_entries


def test_per_person_errors_leave_the_others_evaluated(
    http: FlaskClient, make_key: Callable[..., str], app_session: Session
) -> None:
    with_hours(app_session, {1: "95"})
    bad = "330802199001011231"
    people = [
        {"id_number": bad},
        {"id_number": id_number(1)},
        {"id_number": id_number(7)},
        {"id_number": id_number(1), "ref": "twice"},
    ]
    response = batch(http, make_key("filing"), people)
    assert response.status_code == 200
    assert bad not in response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["error"] and r["error"]["type"] for r in results] == [
        "urn:cehours:problem:validation",
        None,
        "urn:cehours:problem:unknown-person",
        "urn:cehours:problem:duplicate-person",
    ]
    assert "id_number" in results[0]["error"]["errors"]
    assert results[2]["error"]["status"] == 404
    assert results[1]["compliance"]["compliant"] is True
    assert response.get_json()["counts"] == {"compliant": 1, "not_compliant": 0, "errors": 3}


def test_the_envelopes_problems_are_problem_details(
    http: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key("filing")
    too_many = batch(http, key, [{"person_id": f"p_{i}"} for i in range(1001)])
    assert too_many.status_code == 422
    assert too_many.mimetype == "application/problem+json"
    assert "people" in too_many.get_json()["errors"]
    unknown = http.post(
        "/v1/compliance/batch",
        json={"profile": "no-such-profile", "people": [{"person_id": "p_1"}]},
        headers=bearer(key),
    )
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"
    assert batch(http, key, []).status_code == 422
    assert batch(http, key, [{"person_id": "p_1"}], as_of="1980-01-01").status_code == 422
    assert (
        http.post("/v1/compliance/batch", json={"people": []}, headers=bearer(key)).status_code
        == 422
    )


def test_only_filing_and_admin_keys_may_check_a_cohort(
    http: FlaskClient, make_key: Callable[..., str], app_session: Session
) -> None:
    platform = make_key("platform", source=city_source(app_session))
    assert batch(http, platform, [{"person_id": "p_1"}]).status_code == 403
    assert http.post("/v1/compliance/batch", json={}).status_code == 401
    assert batch(http, make_key("admin"), [{"person_id": "p_1"}]).status_code == 200
