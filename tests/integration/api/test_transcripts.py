"""``GET /v1/people/{person_id}/transcript``: a person's entries and totals, for filing keys."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ledger.compliance.transcripts import build_transcript
from ledger.entries.people import find_person_id
from tests.factories import id_number, record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.api.conftest import bearer


def test_a_filing_key_reads_a_transcript_as_the_ledger_holds_it_and_no_cache_keeps_it(
    http: FlaskClient, app_session: Session, platform_key: str, make_key: Callable[..., str]
) -> None:
    course = {"code": "ZY1", "title": "BIM技术应用", "provider": "衢州市建设学院"}
    records = [
        record("t1", hours="40", completed_on="2023-03-01", course=course),
        record("t2", category="general_public", hours="18.5", completed_on="2024-04-02"),
        record("t3", category="industry_public", hours="12", completed_on="2024-05-03"),
    ]
    http.post("/v1/records", json={"records": records}, headers=bearer(platform_key))
    http.post("/v1/records/t3/reversal", json={"reason": "未完成"}, headers=bearer(platform_key))
    person_id = find_person_id(app_session, id_number(1))

    answer = http.get(f"/v1/people/{person_id}/transcript", headers=bearer(make_key("filing")))

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    held = build_transcript(app_session, person_id).to_dict()
    body = answer.get_json()
    assert body == held
    assert [list(e) for e in body["entries"]] == [list(e) for e in held["entries"]]
    assert [e["status"] for e in body["entries"]] == ["counted", "counted", "reversed", "reversal"]
    assert body["totals"]["2024"]["total"] == "18.5"


def test_an_individual_is_sent_to_their_own_transcript(
    http: FlaskClient, app_session: Session, platform_key: str
) -> None:
    http.post("/v1/records", json={"records": [record("t1")]}, headers=bearer(platform_key))
    person_id = find_person_id(app_session, id_number(1))
    answer = http.get(
        f"/v1/people/{person_id}/transcript", headers=bearer("eyJhbGciOi.eyJzdWIiOi.c2ln")
    )
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/problem+json"
