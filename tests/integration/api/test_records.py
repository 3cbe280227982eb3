"""``POST /v1/records`` and reversals: per-record results, credentials, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.access.clients import list_clients, revoke_client
from ledger.entries.tables import Entry
from tests.factories import id_number, province_source, record
from tests.integration.api.conftest import bearer


def post(http: FlaskClient, key: str, records: list[Any], **headers: Any) -> Any:
    return http.post("/v1/records", json={"records": records}, headers=bearer(key, **headers))


def entry_count(session: Session) -> int:
    with session.begin():
        return session.scalar(select(func.count()).select_from(Entry)) or 0


def test_results_come_back_one_per_record_in_order(http: FlaskClient, platform_key: str) -> None:
    response = post(http, platform_key, [record("r1"), record("r2", person=2), record("r3")])
    assert response.status_code == 200
    body = response.get_json()
    assert [r["external_id"] for r in body["results"]] == ["r1", "r2", "r3"]
    assert [r["status"] for r in body["results"]] == ["created"] * 3
    assert all(isinstance(r["entry_id"], int) for r in body["results"])
    assert body["counts"]["created"] == 3


def test_one_bad_record_is_rejected_and_the_others_kept(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    bad = record("bad", hours="0")
    response = post(http, platform_key, [record("ok1"), bad, record("ok2")])
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert results[1]["errors"] == {"hours": ["hours must be greater than 0"]}
    assert "entry_id" not in results[1]
    assert entry_count(app_session) == 2


def test_posting_the_same_batch_again_reports_duplicates_and_appends_nothing(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    batch = [record("d1"), record("d2", person=3)]
    first = post(http, platform_key, batch).get_json()["results"]
    again = post(http, platform_key, batch).get_json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert [r["entry_id"] for r in again] == [r["entry_id"] for r in first]
    assert entry_count(app_session) == 2


def test_same_external_id_twice_in_one_request_is_appended_once(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    results = post(http, platform_key, [record("x"), record("x"), record("x", hours="3")])
    assert [r["status"] for r in results.get_json()["results"]] == [
        "created",
        "duplicate",
        "conflict",
    ]
    assert entry_count(app_session) == 1


def test_new_content_is_a_conflict_unless_it_asks_to_supersede(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    post(http, platform_key, [record("c1", hours="2")])
    conflict = post(http, platform_key, [record("c1", hours="2.5")]).get_json()["results"][0]
    assert conflict["status"] == "conflict"
    assert "supersede" in conflict["errors"]["external_id"][0]
    replaced = post(http, platform_key, [record("c1", hours="2.5", supersede=True)])
    assert replaced.get_json()["results"][0]["status"] == "superseded"
    assert entry_count(app_session) == 3  # credit, its reversal, the new credit


def test_hours_as_json_numbers_keep_their_exact_value(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    one = json.dumps(record("n1", hours="X")).replace('"X"', "1.5")
    two = json.dumps(record("n2", hours="X")).replace('"X"', "0.15")
    body = f'{{"records": [{one}, {two}]}}'
    response = http.post(
        "/v1/records", data=body, content_type="application/json", headers=bearer(platform_key)
    )
    results = response.get_json()["results"]
    assert results[0]["status"] == "created"
    assert results[1] == {
        "external_id": "n2",
        "status": "rejected",
        "errors": {"hours": ["hours may have at most one decimal place"]},
    }
    with app_session.begin():
        assert app_session.scalar(select(Entry.hours)) == pytest.approx(1.5)
        assert str(app_session.scalar(select(Entry.hours))) == "1.5"


# ---- credentials ---------------------------------------------------------------------------


def test_no_key_is_401_with_a_bearer_challenge(http: FlaskClient, source: str) -> None:
    response = http.post("/v1/records", json={"records": [record("a")]})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer ceh_00000000_" + "a" * 43, "Bearer "],
)
def test_a_wrong_key_is_401(http: FlaskClient, source: str, header: str) -> None:
    response = http.post(
        "/v1/records", json={"records": [record("a")]}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.get_json()["type"] == "urn:cehours:problem:unauthenticated"


def test_a_revoked_key_is_401(http: FlaskClient, platform_key: str, app_session: Session) -> None:
    assert post(http, platform_key, [record("before")]).status_code == 200
    (client,) = list_clients(app_session)
    revoke_client(app_session, client.id)
    response = post(http, platform_key, [record("after")])
    assert response.status_code == 401
    assert entry_count(app_session) == 1


def test_a_key_of_another_source_cannot_write_this_one(
    http: FlaskClient,
    platform_key: str,
    make_key: Callable[..., str],
    app_session: Session,
) -> None:
    other = make_key("platform", source=province_source(app_session))
    url = "/v1/records?source=quzhou-city"
    response = http.post(url, json={"records": [record("a")]}, headers=bearer(other))
    assert response.status_code == 403
    named = post(http, other, [record("b", source="quzhou-city")])
    assert named.status_code == 403
    assert entry_count(app_session) == 0


def test_a_record_may_name_its_own_source(http: FlaskClient, platform_key: str) -> None:
    response = post(http, platform_key, [record("own", source="quzhou-city")])
    assert response.get_json()["results"][0]["status"] == "created"


def test_a_filing_key_cannot_write_records(
    http: FlaskClient, make_key: Callable[..., str], source: str
) -> None:
    response = post(http, make_key("filing"), [record("a")])
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"


def test_an_admin_key_writes_the_source_it_names(
    http: FlaskClient, make_key: Callable[..., str], source: str
) -> None:
    admin = make_key("admin")
    unnamed = post(http, admin, [record("a")])
    assert unnamed.status_code == 422
    assert unnamed.get_json()["errors"] == {"query.source": ["required for an admin key"]}
    named = http.post(
        f"/v1/records?source={source}", json={"records": [record("a")]}, headers=bearer(admin)
    )
    assert named.get_json()["results"][0]["status"] == "created"
    unknown = http.post(
        "/v1/records?source=nowhere", json={"records": [record("a")]}, headers=bearer(admin)
    )
    assert unknown.status_code == 404


# ---- bad input -----------------------------------------------------------------------------


def test_invalid_json_is_a_400_problem(http: FlaskClient, platform_key: str) -> None:
    response = http.post(
        "/v1/records",
        data='{"records": [{"external_id": "a",',
        content_type="application/json",
        headers=bearer(platform_key),
    )
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert response.get_json()["type"] == "urn:cehours:problem:malformed-json"


def test_a_body_that_is_not_json_is_415(http: FlaskClient, platform_key: str) -> None:
    response = http.post(
        "/v1/records",
        data="external_id=a",
        content_type="application/x-www-form-urlencoded",
        headers=bearer(platform_key),
    )
    assert response.status_code == 415
    assert response.content_type == "application/problem+json"


def test_a_50_mb_body_is_413(http: FlaskClient, platform_key: str, app_session: Session) -> None:
    filler = "x" * (50 * 1024 * 1024)
    response = http.post(
        "/v1/records",
        data='{"records": [], "pad": "' + filler + '"}',
        content_type="application/json",
        headers=bearer(platform_key),
    )
    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert entry_count(app_session) == 0


def test_1001_records_are_refused_whole(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    response = post(http, platform_key, [record(f"r{i}") for i in range(1001)])
    assert response.status_code == 422
    body = response.get_json()
    assert body["type"] == "urn:cehours:problem:validation"
    assert list(body["errors"]) == ["records"]
    assert entry_count(app_session) == 0


def test_1000_records_are_accepted(http: FlaskClient, platform_key: str) -> None:
    batch = [record(f"r{i}", person=i) for i in range(1000)]
    response = post(http, platform_key, batch)
    assert response.get_json()["counts"]["created"] == 1000


@pytest.mark.parametrize(
    "body",
    [
        [],
        "records",
        {"records": "all of them"},
        {"records": {"0": record("a")}},
        {"records": []},
        {"records": [record("a")], "extra": {"deep": [[[[{"x": None}]]]]}},
        {"rec": [record("a")]},
        None,
    ],
    ids=repr,
)
def test_a_malformed_envelope_is_a_422_problem_with_field_errors(
    http: FlaskClient, platform_key: str, body: Any
) -> None:
    response = http.post(
        "/v1/records",
        data=json.dumps(body),
        content_type="application/json",
        headers=bearer(platform_key),
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"] == "urn:cehours:problem:validation"
    assert problem["errors"]


def test_nested_garbage_in_records_is_rejected_per_record(
    http: FlaskClient, platform_key: str
) -> None:
    garbage = [
        None,
        17,
        "record",
        [record("in-a-list")],
        {"external_id": {"a": [1, {"b": None}]}, "course": [[[]]]},
        {**record("deep"), "course": {"code": {"nested": {"more": [1, 2, [3]]}}}},
        {**record("extra"), "nonsense": {"x": [None]}},
    ]
    results = post(http, platform_key, [*garbage, record("fine")]).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 7 + ["created"]
    assert results[4]["errors"]["external_id"] == ["must be a string"]
    assert results[4]["errors"]["course"] == ["must be an object"]
    assert results[5]["errors"] == {"course.code": ["must be a string"]}
    assert results[6]["errors"] == {"nonsense": ["is not a known field"]}


def test_deeply_nested_json_is_a_400_not_a_crash(http: FlaskClient, platform_key: str) -> None:
    depth = 100_000
    response = http.post(
        "/v1/records",
        data='{"records": ' + "[" * depth + "]" * depth + "}",
        content_type="application/json",
        headers=bearer(platform_key),
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.get_json()["detail"]


WRONG_TYPES: list[tuple[str, Any]] = [
    ("external_id", 12),
    ("external_id", ["a"]),
    ("external_id", ""),
    ("external_id", "x" * 129),
    ("id_number", 330802197001010011),
    ("id_number", "33080219700101001"),
    ("name", {"first": "张"}),
    ("name", True),
    ("category", "professional"),
    ("category", 1),
    ("hours", True),
    ("hours", "1.5h"),
    ("hours", "-2"),
    ("hours", [1]),
    ("hours", "201"),
    ("completed_on", "2024-02-30"),
    ("completed_on", 20240501),
    ("completed_on", "2999-01-01"),
    ("course", "Python 101"),
    ("course", {"code": 7}),
]


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES, ids=repr)
def test_a_wrong_type_in_a_field_is_rejected_with_that_field_named(
    http: FlaskClient, platform_key: str, field: str, value: Any
) -> None:
    bad = {**record("wt"), field: value}
    result = post(http, platform_key, [bad, record("ok")]).get_json()["results"]
    assert result[0]["status"] == "rejected"
    assert any(path == field or path.startswith(field + ".") for path in result[0]["errors"])
    assert result[1]["status"] == "created"


def test_a_wrong_check_character_is_rejected(http: FlaskClient, platform_key: str) -> None:
    number = id_number(5)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    result = post(http, platform_key, [record("cc", id_number=wrong)]).get_json()["results"][0]
    assert result["status"] == "rejected"
    assert result["errors"] == {"id_number": ["id_number check character is wrong"]}
    assert wrong not in json.dumps(result)


def test_a_missing_field_is_named(http: FlaskClient, platform_key: str) -> None:
    incomplete = record("m")
    del incomplete["completed_on"]
    result = post(http, platform_key, [incomplete]).get_json()["results"][0]
    assert result["errors"] == {"completed_on": ["is required"]}


# ---- Idempotency-Key -----------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_first_response(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    first = post(http, platform_key, [record("i1")], **{"Idempotency-Key": "batch-1"})
    again = post(http, platform_key, [record("i1")], **{"Idempotency-Key": "batch-1"})
    assert again.status_code == first.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.get_json()["results"][0]["status"] == "created"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert entry_count(app_session) == 1


def test_an_idempotency_key_reused_for_another_request_is_422(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    post(http, platform_key, [record("i1")], **{"Idempotency-Key": "batch-1"})
    other = post(http, platform_key, [record("i2")], **{"Idempotency-Key": "batch-1"})
    assert other.status_code == 422
    assert other.get_json()["type"] == "urn:cehours:problem:idempotency-key-reused"
    assert entry_count(app_session) == 1


def test_idempotency_keys_belong_to_one_client(
    http: FlaskClient, platform_key: str, make_key: Callable[..., str], app_session: Session
) -> None:
    other = make_key("platform", source=province_source(app_session))
    post(http, platform_key, [record("i1")], **{"Idempotency-Key": "k"})
    theirs = post(http, other, [record("i1")], **{"Idempotency-Key": "k"})
    assert theirs.get_json()["results"][0]["status"] == "created"


def test_an_invalid_idempotency_key_is_422(http: FlaskClient, platform_key: str) -> None:
    response = post(http, platform_key, [record("i1")], **{"Idempotency-Key": "x" * 300})
    assert response.status_code == 422
    assert "headers.Idempotency-Key" in response.get_json()["errors"]


# ---- reversal ------------------------------------------------------------------------------


def test_a_record_is_reversed_with_a_reason(
    http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    created = post(http, platform_key, [record("rev/1 #a")]).get_json()["results"][0]
    response = http.post(
        "/v1/records/rev%2F1%20%23a/reversal",
        json={"reason": "posted to the wrong person"},
        headers=bearer(platform_key),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["external_id"] == "rev/1 #a"
    assert body["reversed_entry_id"] == created["entry_id"]
    again = http.post(
        "/v1/records/rev%2F1%20%23a/reversal",
        json={"reason": "again"},
        headers=bearer(platform_key),
    )
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"
    assert entry_count(app_session) == 2


def test_reversing_an_unknown_record_is_404(http: FlaskClient, platform_key: str) -> None:
    response = http.post(
        "/v1/records/nope/reversal", json={"reason": "x"}, headers=bearer(platform_key)
    )
    assert response.status_code == 404
    assert response.get_json()["type"] == "urn:cehours:problem:unknown-record"


def test_a_reversal_needs_a_reason(http: FlaskClient, platform_key: str) -> None:
    post(http, platform_key, [record("r")])
    for body in ({}, {"reason": ""}, {"reason": 5}):
        response = http.post("/v1/records/r/reversal", json=body, headers=bearer(platform_key))
        assert response.status_code == 422
        assert "reason" in response.get_json()["errors"]


def test_another_sources_key_cannot_reverse(
    http: FlaskClient, platform_key: str, make_key: Callable[..., str], app_session: Session
) -> None:
    post(http, platform_key, [record("mine")])
    other = make_key("platform", source=province_source(app_session))
    # Its own source holds no such record ...
    response = http.post("/v1/records/mine/reversal", json={"reason": "x"}, headers=bearer(other))
    assert response.status_code == 404
    # ... and naming ours is refused.
    response = http.post(
        "/v1/records/mine/reversal?source=quzhou-city",
        json={"reason": "x"},
        headers=bearer(other),
    )
    assert response.status_code == 403
    assert entry_count(app_session) == 1
