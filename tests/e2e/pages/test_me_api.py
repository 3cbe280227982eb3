"""/v1/me over HTTP with the individual's identity token: their own data and nobody else's."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from tests.e2e.pages.site import ME, OTHER, Site


def test_my_transcript_lists_my_entries_and_counts_a_course_on_two_platforms_once(
    site: Site,
) -> None:
    answer = requests.get(f"{site.base}/v1/me/transcript", headers=site.bearer(), timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["person_id"] == site.me
    assert body["totals"]["2024"] == {
        "specialised": "40.0",
        "industry_public": "12.5",
        "general_public": "18.0",
        "total": "70.5",
    }
    statuses = {e["external_id"]: e["status"] for e in body["entries"]}
    assert statuses == {"c1": "counted", "c2": "counted", "c3": "counted", "p1": "duplicate"}
    assert ME not in answer.text
    assert answer.headers["Cache-Control"] == "private, no-store"


def test_my_compliance_shows_each_rule_with_its_shortfall(site: Site) -> None:
    answer = requests.post(
        f"{site.base}/v1/me/compliance",
        # The person says their industry is not managed on the provincial platform (R6).
        json={"profile": "quzhou-annual-90", "as_of": "2024-12-31", "industry_platform": False},
        headers=site.bearer(),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["compliant"] is False
    (rule,) = body["rules"]
    assert (rule["required"], rule["actual"], rule["shortfall"]) == ("90.0", "70.5", "19.5")


def test_i_can_obtain_my_own_attestation(site: Site) -> None:
    answer = requests.post(
        f"{site.base}/v1/me/attestations",
        json={"profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers=site.bearer(),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["compliant"] is False


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/me/compliance", {"profile": "quzhou-annual-90", "person_id": "{other}"}),
        ("post", "/v1/me/compliance", {"profile": "quzhou-annual-90", "id_number": OTHER}),
        ("post", "/v1/me/attestations", {"profile": "quzhou-annual-90", "person_id": "{other}"}),
        ("post", "/v1/me/attestations", {"profile": "quzhou-annual-90", "id_number": OTHER}),
        ("get", "/v1/people/{other}/transcript", None),
        ("get", "/v1/people/{me}/transcript", None),
        ("post", "/v1/compliance", {"profile": "quzhou-annual-90", "person_id": "{other}"}),
        ("post", "/v1/attestations", {"profile": "quzhou-annual-90", "person_id": "{other}"}),
        ("post", "/v1/people/lookup", {"id_number": OTHER}),
    ],
)
def test_another_persons_id_in_any_request_never_returns_their_data(
    site: Site, method: str, path: str, body: dict[str, str] | None
) -> None:
    def fill(text: str) -> str:
        return text.replace("{other}", site.other).replace("{me}", site.me)

    payload = {k: fill(v) for k, v in body.items()} if body else None
    answer = requests.request(
        method, site.base + fill(path), json=payload, headers=site.bearer(), timeout=10
    )
    assert answer.status_code in (401, 403, 404), answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert site.other not in answer.text
    assert "77.5" not in answer.text
    assert "李四" not in answer.text


def test_naming_myself_explicitly_is_allowed(site: Site) -> None:
    answer = requests.post(
        f"{site.base}/v1/me/compliance",
        json={"profile": "quzhou-annual-90", "id_number": ME, "person_id": site.me},
        headers=site.bearer(),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_a_forged_token_is_refused(site: Site, tmp_path: object) -> None:
    header, payload, signature = site.token().split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    answer = requests.get(
        f"{site.base}/v1/me/transcript",
        headers={"Authorization": f"Bearer {forged}"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:cehours:problem:invalid-identity-token"


def test_an_expired_token_is_refused(site: Site) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    token = site.idp.mint(ME, lifetime=dt.timedelta(minutes=10), now=old)
    answer = requests.get(
        f"{site.base}/v1/me/transcript", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]


def test_without_a_credential_me_answers_401(site: Site) -> None:
    answer = requests.get(f"{site.base}/v1/me/transcript", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_a_person_with_no_hours_gets_404_for_their_transcript(site: Site) -> None:
    from tests.factories import id_number

    answer = requests.get(
        f"{site.base}/v1/me/transcript", headers=site.bearer(id_number(3)), timeout=10
    )
    assert answer.status_code == 404


def test_filing_keys_read_any_persons_transcript(site: Site) -> None:
    answer = requests.get(
        f"{site.base}/v1/people/{site.other}/transcript",
        headers={"Authorization": f"Bearer {site.keys['filing']}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["totals"]["2024"]["total"] == "77.5"
    platform = requests.get(
        f"{site.base}/v1/people/{site.other}/transcript",
        headers={"Authorization": f"Bearer {site.keys['platform']}"},
        timeout=10,
    )
    assert platform.status_code == 403
