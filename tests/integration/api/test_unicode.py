"""Text that is not valid Unicode, and values outside their one written form, at the API's edge:
a clear rejection of the record or field, never a 500 and never a lost batch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.entries.tables import Entry
from ledger.values.texts import NOT_UNICODE
from tests.factories import id_number, record
from tests.integration.api.conftest import bearer


def post_raw(http: FlaskClient, key: str, document: Any, path: str = "/v1/records") -> Any:
    """Post ``document`` as JSON text in which a lone surrogate is the escape ``\\ud800``
    (json.dumps writes it so; Flask's own encoder could not send it at all)."""
    return http.post(
        path, data=json.dumps(document), content_type="application/json", headers=bearer(key)
    )


def entries(session: Session) -> int:
    with session.begin():
        return session.scalar(select(func.count()).select_from(Entry)) or 0


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("name", "name"),
        ("external_id", "external_id"),
        ("course", "course.title"),
    ],
)
def test_a_lone_surrogate_rejects_its_record_and_the_batch_goes_on(
    http: FlaskClient, platform_key: str, app_session: Session, field: str, where: str
) -> None:
    bad = record("bad")
    if field == "course":
        bad["course"] = {"title": "课\ud800程"}
    else:
        bad[field] = "张\ud800"
    response = post_raw(http, platform_key, {"records": [record("ok1"), bad, record("ok2")]})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert results[1]["errors"] == {where: [NOT_UNICODE]}
    # An id that is not text is not echoed back as it came (it could not even be encoded).
    assert results[1]["external_id"] == (None if field == "external_id" else "bad")
    assert entries(app_session) == 2


def test_a_field_name_that_is_not_unicode_rejects_its_record_naming_it_escaped(
    http: FlaskClient, platform_key: str
) -> None:
    bad = {**record("bad"), "x\udc80": 1}
    results = post_raw(http, platform_key, {"records": [bad, record("ok")]}).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "created"]
    assert results[0]["errors"] == {"x\\udc80": ["is not a known field"]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/people/lookup", {"id_number": "\ud800"}, "id_number"),
        ("/v1/compliance", {"id_number": id_number(1), "profile": "q\ud800"}, "profile"),
        ("/v1/compliance", {"person_id": "p\x00", "profile": "quzhou-annual-90"}, "person_id"),
        (
            "/v1/attestations",
            {"id_number": id_number(1), "profile": "x", "application_ref": "\udfff"},
            "application_ref",
        ),
        ("/v1/records/r1/reversal", {"reason": "mistake\ud800"}, "reason"),
        ("/v1/records/r1/reversal", {"reason": "nul\x00"}, "reason"),
        ("/v1/compliance", {"pro\ud800file": 1}, "pro\\ud800file"),
    ],
)
def test_a_text_no_field_can_hold_is_a_422_naming_the_field(
    http: FlaskClient, keys: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    role = "platform" if path.startswith("/v1/records") else "admin"
    response = post_raw(http, keys[role], body, path)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert "Unicode" in errors[field][0] or "NUL" in errors[field][0]


@pytest.mark.parametrize(
    "url",
    [
        "/v1/attestations/%ED%A0%80/status",  # a surrogate's own bytes: not UTF-8
        "/v1/attestations/%FF/status",
        "/v1/attestations/a%00b/status",
        "/v1/people/%00/transcript",
        "/verify/%C0%AF",
        "/v1/records?source=%ED%A0%80",
        "/v1/profiles?x=%00",
        "/me/compliance?profile=%FF",
    ],
)
def test_a_url_that_is_not_utf8_text_or_holds_nul_is_a_400_problem(
    http: FlaskClient, keys: dict[str, str], url: str
) -> None:
    headers = {**bearer(keys["admin"]), "Accept": "application/problem+json"}
    response = http.get(url, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    if url.startswith("/v1/"):  # the pages answer problems in their own, shorter form
        body = response.get_json(force=True)
        assert body["type"] == "urn:cehours:problem:invalid-text"
        assert set(body["errors"]) <= {"path", "query"}


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("1_0", "decimal number"),
        ("1e1", "decimal number"),
        (" 3 ", "decimal number"),
        ("１２", "decimal number"),
        ("١٢", "decimal number"),
        ("2.50", "at most one decimal place"),
    ],
)
def test_hours_outside_their_written_form_reject_the_record(
    http: FlaskClient, platform_key: str, hours: str, message: str
) -> None:
    results = post_raw(http, platform_key, {"records": [record("h", hours=hours)]}).get_json()
    assert results["results"][0]["status"] == "rejected"
    assert message in results["results"][0]["errors"]["hours"][0]


def test_a_json_number_with_an_exponent_is_no_hours(http: FlaskClient, platform_key: str) -> None:
    text = json.dumps({"records": [record("h")]}).replace('"hours": "10"', '"hours": 1e1')
    response = http.post(
        "/v1/records", data=text, content_type="application/json", headers=bearer(platform_key)
    )
    assert response.get_json()["results"][0]["errors"]["hours"] == [
        'hours must be a decimal number such as "1.5"'
    ]


@pytest.mark.parametrize("day", ["20240501", "2024-05-01T10:00:00+08:00", "２０２４-０５-０１"])
def test_dates_on_the_api_are_yyyy_mm_dd_only(
    http: FlaskClient, keys: dict[str, str], day: str
) -> None:
    pushed = post_raw(http, keys["platform"], {"records": [record("d", completed_on=day)]})
    assert pushed.get_json()["results"][0]["errors"] == {
        "completed_on": ["completed_on must be a date YYYY-MM-DD"]
    }
    asked = post_raw(
        http,
        keys["admin"],
        {"id_number": id_number(1), "profile": "quzhou-annual-90", "as_of": day},
        "/v1/compliance",
    )
    assert asked.status_code == 422
    assert asked.get_json()["errors"] == {"as_of": ["must be a date YYYY-MM-DD"]}
