"""The attestation endpoints over Flask's test client: roles, JWKS caching, status, problems."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ledger.attestations import signing_keys
from ledger.attestations.verification import verify_token
from tests.factories import id_number, record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.ledger.attestations.helpers import ISSUER

# The app must find the key-encryption key in the environment when it starts.
pytestmark = pytest.mark.usefixtures("kek")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def push(http: FlaskClient, key: str, *records: dict[str, Any]) -> None:
    response = http.post("/v1/records", json={"records": list(records)}, headers=auth(key))
    assert response.status_code == 200, response.json


def test_filing_system_issues_and_verifies_with_the_published_jwks(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes
) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    push(http, keys["platform"], record("a", hours="95", completed_on="2024-05-01"))
    response = http.post(
        "/v1/attestations",
        json={
            "id_number": id_number(1),
            "profile": "quzhou-annual-90",
            "as_of": "2024-12-31",
            "application_ref": "ZC-2025-7",
        },
        headers=auth(keys["filing"]),
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body is not None
    assert set(body) == {"jti", "token", "compliant", "expires_at"}
    assert body["compliant"] is True
    jwks = http.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert jwks.headers["Cache-Control"] == "public, max-age=300"
    assert (
        http.get(
            "/.well-known/jwks.json", headers={"If-None-Match": jwks.headers["ETag"]}
        ).status_code
        == 304
    )
    status = http.get(f"/v1/attestations/{body['jti']}/status")
    assert status.status_code == 200
    assert status.json == {**status.json, "jti": body["jti"], "status": "valid"}
    result = verify_token(
        body["token"],
        jwks.get_json(force=True),
        issuer=ISSUER,
        id_number=id_number(1),
        status=status.json,
    )
    assert result.ok, result.reason
    assert result.claims["application_ref"] == "ZC-2025-7"
    fetched = http.get(f"/v1/attestations/{body['jti']}", headers=auth(keys["filing"]))
    assert fetched.status_code == 200
    assert fetched.json is not None
    assert fetched.json["token"] == body["token"]
    mine = http.post(
        "/v1/me/attestations",
        json={"person_id": result.claims["sub"], "profile": "quzhou-annual-90"},
        headers=auth(keys["admin"]),
    )
    assert mine.status_code == 201, mine.json


def test_status_carries_no_personal_data_and_needs_no_credential(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes
) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    push(http, keys["platform"], record("a", hours="95"))
    issued = http.post(
        "/v1/attestations",
        json={"id_number": id_number(1), "profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers=auth(keys["filing"]),
    ).json
    assert issued is not None
    reversal = http.post(
        "/v1/records/a/reversal",
        json={"reason": "张三 never attended"},
        headers=auth(keys["platform"]),
    )
    assert reversal.status_code in (200, 201), reversal.json
    status = http.get(f"/v1/attestations/{issued['jti']}/status")
    assert status.headers["Cache-Control"] == "no-cache"
    text = status.get_data(as_text=True)
    assert status.json is not None
    assert status.json["status"] == "stale"
    for personal in ("张三", id_number(1), "never attended", "p_"):
        assert personal not in text


def test_roles(http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    push(http, keys["platform"], record("a", hours="95"))
    body = {"id_number": id_number(1), "profile": "quzhou-annual-90"}
    assert http.post("/v1/attestations", json=body).status_code == 401
    assert (
        http.post("/v1/attestations", json=body, headers=auth(keys["platform"])).status_code == 403
    )
    issued = http.post("/v1/attestations", json=body, headers=auth(keys["filing"])).json
    assert issued is not None
    jti = issued["jti"]
    assert http.get(f"/v1/attestations/{jti}", headers=auth(keys["platform"])).status_code == 403
    revoke = f"/v1/attestations/{jti}/revocation"
    reason = {"reason": "hours falsified"}
    assert http.post(revoke, json=reason, headers=auth(keys["filing"])).status_code == 403
    done = http.post(revoke, json=reason, headers=auth(keys["admin"]))
    assert done.status_code == 200
    assert done.json is not None
    assert done.json["status"] == "revoked"
    again = http.post(revoke, json=reason, headers=auth(keys["admin"]))
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"


def test_bad_requests_are_problems_not_500(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes
) -> None:
    filing = auth(keys["filing"])
    cases = [
        ({"profile": "quzhou-annual-90"}, 422),
        ({"id_number": id_number(1), "person_id": "p_x", "profile": "quzhou-annual-90"}, 422),
        ({"id_number": "123", "profile": "quzhou-annual-90"}, 422),
        ({"person_id": "p_nobody", "profile": "quzhou-annual-90"}, 404),
        ({"id_number": id_number(9), "profile": "quzhou-annual-90"}, 404),
        ({"person_id": "p_x", "profile": "quzhou-annual-90", "as_of": "yesterday"}, 422),
        ({"person_id": "p_x", "profile": "quzhou-annual-90", "application_ref": ""}, 422),
    ]
    for body, expected in cases:
        response = http.post("/v1/attestations", json=body, headers=filing)
        assert response.status_code == expected, (body, response.json)
        assert response.content_type == "application/problem+json"
        assert id_number(1) not in response.get_data(as_text=True)
    assert http.get("/v1/attestations/att_nope/status").status_code == 404


def test_without_a_signing_key_issuing_is_unavailable_not_an_error(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    push(http, keys["platform"], record("a", hours="95"))
    response = http.post(
        "/v1/attestations",
        json={"id_number": id_number(1), "profile": "quzhou-annual-90"},
        headers=auth(keys["filing"]),
    )
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"


def test_development_server_creates_its_signing_key_on_first_use(
    db_url: str, kek: bytes, keys: dict[str, str], app: Flask
) -> None:

    from api.app import create_app

    dev = create_app({"DATABASE_URL": db_url, "TESTING": True, "DEV": True})
    try:
        document = dev.test_client().get("/.well-known/jwks.json").get_json(force=True)
        assert len(document["keys"]) == 1
        assert document["keys"][0]["alg"] == "EdDSA"
    finally:
        dev.extensions["cehours"].engine.dispose()


def test_the_jwk_set_is_served_as_such_with_an_etag_that_names_its_keys(
    http: FlaskClient, app_session: Session, kek: bytes
) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    first = http.get("/.well-known/jwks.json")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/jwk-set+json"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert http.get("/.well-known/jwks.json").headers["ETag"] == first.headers["ETag"]
    signing_keys.rotate_key(app_session, kek, actor="ops", alg="ES256")
    second = http.get("/.well-known/jwks.json", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    assert len(second.get_json(force=True)["keys"]) == 2
    again = http.get("/.well-known/jwks.json", headers={"If-None-Match": second.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "public, max-age=300"


def test_every_token_of_a_retired_key_stops_answering_valid_on_the_status_and_the_page(
    http: FlaskClient,
    keys: dict[str, str],
    app_session: Session,
    kek: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signing_keys, "_sleep", lambda seconds: None)
    old = signing_keys.create_key(app_session, kek, actor="ops")
    push(http, keys["platform"], record("k", hours="95", completed_on="2024-05-01"))
    asked = {"id_number": id_number(1), "profile": "quzhou-annual-90", "as_of": "2024-12-31"}
    signed = http.post("/v1/attestations", json=asked, headers=auth(keys["filing"])).json
    rotated = http.post("/v1/attestations", json=asked, headers=auth(keys["filing"])).json
    assert signed is not None
    assert rotated is not None
    signing_keys.rotate_key(app_session, kek, actor="ops")
    fresh = http.post("/v1/attestations", json=asked, headers=auth(keys["filing"])).json
    assert fresh is not None
    # Ordinary rotation: tokens of the old key stay valid.
    assert http.get(f"/v1/attestations/{signed['jti']}/status").json["status"] == "valid"

    retired = signing_keys.retire_key(app_session, old.kid, reason="laptop stolen", actor="ops")

    for jti in (signed["jti"], rotated["jti"]):
        status = http.get(f"/v1/attestations/{jti}/status").json
        assert status["status"] == "revoked"
        assert status["reason_code"] == "key-retired"
        assert status["changed_at"] == retired.retired_at.isoformat()
        assert "laptop" not in str(status)  # the operator's reason stays in the key's history
        page = http.get(f"/verify/{jti}")
        assert page.status_code == 200
        assert 'data-reason="key-retired"' in page.get_data(as_text=True)
        assert 'data-status="valid"' not in page.get_data(as_text=True)
        shown = http.get(f"/v1/attestations/{jti}", headers=auth(keys["filing"])).json
        assert (shown["status"], shown["status_changed_at"]) == (
            "revoked",
            retired.retired_at.isoformat(),
        )
    assert http.get(f"/v1/attestations/{fresh['jti']}/status").json["reason_code"] == "issued"
