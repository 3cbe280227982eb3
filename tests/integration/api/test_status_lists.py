"""``GET /v1/status-lists/{id}`` and ``GET /v1/attestations/{jti}/status?at=`` over Flask's test
client: a list any JOSE library verifies with the JWK Set, and the status at a past moment."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ledger.attestations import signing_keys
from ledger.attestations.status_bits import decode, status_at
from ledger.attestations.status_lists import forget_built_lists
from tests.factories import id_number, record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.ledger.attestations.helpers import ISSUER

pytestmark = pytest.mark.usefixtures("kek")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(autouse=True)
def _fresh_lists() -> None:
    forget_built_lists()


def issued(http: FlaskClient, keys: dict[str, str], person: int) -> dict[str, Any]:
    pushed = http.post(
        "/v1/records",
        json={"records": [record(f"r-{person}", person=person, hours="95")]},
        headers=auth(keys["platform"]),
    )
    assert pushed.status_code == 200
    response = http.post(
        "/v1/attestations",
        json={"id_number": id_number(person), "profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers=auth(keys["filing"]),
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def list_claims(http: FlaskClient, uri: str) -> tuple[Any, dict[str, Any]]:
    response = http.get(uri, headers={"Accept": "application/statuslist+jwt"})
    assert response.status_code == 200
    jwks = http.get("/.well-known/jwks.json").get_json(force=True)
    token = response.get_data(as_text=True)
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = jwt.decode(
        token,
        key,
        algorithms=["EdDSA", "ES256"],
        issuer=ISSUER,
        options={"require": ["sub", "iat"]},
    )
    return response, claims


def test_a_filing_system_reads_many_statuses_from_one_list(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes
) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    tokens = [issued(http, keys, n) for n in (1, 2, 3)]
    references = [
        jwt.decode(t["token"], options={"verify_signature": False})["status"]["status_list"]
        for t in tokens
    ]
    uri = references[0]["uri"]
    assert uri == "http://localhost/v1/status-lists/1"
    assert {r["uri"] for r in references} == {uri}
    revoked = http.post(
        f"/v1/attestations/{tokens[1]['jti']}/revocation",
        json={"reason": "falsified hours"},
        headers=auth(keys["admin"]),
    )
    assert revoked.status_code == 200
    response, claims = list_claims(http, uri)
    assert response.mimetype == "application/statuslist+jwt"
    assert jwt.get_unverified_header(response.get_data(as_text=True))["typ"] == "statuslist+jwt"
    assert claims["sub"] == uri
    assert response.headers["Cache-Control"] == f"public, max-age={claims['ttl']}"
    raw = decode(claims["status_list"]["lst"])
    assert [status_at(raw, r["idx"]) for r in references] == [0, 1, 0]
    again = http.get(uri, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_list_that_does_not_exist_is_a_problem(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes
) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    for path in ("/v1/status-lists/1", "/v1/status-lists/0", "/v1/status-lists/abc",
                 "/v1/status-lists/99999999999999999999999"):  # fmt: skip
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_the_status_at_a_past_moment(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes
) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    token = issued(http, keys, 1)
    jti = token["jti"]
    before = dt.datetime.now(dt.UTC)
    reversal = http.post(
        "/v1/records/r-1/reversal", json={"reason": "forged"}, headers=auth(keys["platform"])
    )
    assert reversal.status_code == 201
    now = http.get(f"/v1/attestations/{jti}/status").get_json()
    assert now["status"] == "stale"
    assert "at" not in now
    past = http.get(f"/v1/attestations/{jti}/status", query_string={"at": before.isoformat()})
    assert past.status_code == 200
    assert past.get_json()["status"] == "valid"
    assert past.get_json()["at"] == before.isoformat()
    later = http.get(
        f"/v1/attestations/{jti}/status", query_string={"at": now["changed_at"]}
    ).get_json()
    assert later["status"] == "stale"


@pytest.mark.parametrize(
    "at",
    [
        "2000-01-01T00:00:00+08:00",  # before the attestation
        "2999-01-01T00:00:00Z",  # in the future
        "2025-01-01T00:00:00",  # no time zone
        "yesterday",
    ],
)
def test_a_moment_out_of_range_or_malformed_is_a_problem(
    http: FlaskClient, keys: dict[str, str], app_session: Session, kek: bytes, at: str
) -> None:
    signing_keys.create_key(app_session, kek, actor="ops")
    jti = issued(http, keys, 1)["jti"]
    response = http.get(f"/v1/attestations/{jti}/status", query_string={"at": at})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "query.at" in response.get_json()["errors"] or "at" in response.get_json()["errors"]
    unknown = http.get("/v1/attestations/att_none/status", query_string={"at": "2025-01-01T00:00Z"})
    assert unknown.status_code == 404
