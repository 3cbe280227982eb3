"""The log over HTTP: checkpoint and key as text, proofs as JSON, 400/404 problems, witness
cosignatures; and transcripts carrying each entry's chain hash."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ledger.attestations.key_encryption import load_kek
from ledger.log import checkpoints, merkle, notes
from tests.factories import record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.api.conftest import bearer

pytestmark = pytest.mark.usefixtures("kek")


@pytest.fixture
def published(http: FlaskClient, platform_key: str, app_session: Session) -> notes.Verifier:
    records = [record(f"log-{i}", person=1 + i % 2) for i in range(5)]
    answer = http.post("/v1/records", json={"records": records}, headers=bearer(platform_key))
    assert answer.status_code == 200
    verifier = checkpoints.create_log_key(app_session, load_kek(), actor="ops@test")
    checkpoints.publish(app_session, load_kek())
    return verifier


def b(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def test_before_any_checkpoint_the_log_answers_503(http: FlaskClient) -> None:
    for path in ("/v1/log/checkpoint", "/v1/log/key"):
        answer = http.get(path)
        assert answer.status_code == 503
        assert answer.mimetype == "application/problem+json"


def test_checkpoint_and_key_verify_and_every_transcript_entry_proves_its_inclusion(
    http: FlaskClient, published: notes.Verifier, make_key: Callable[..., str]
) -> None:
    key = http.get("/v1/log/key")
    assert key.status_code == 200
    assert key.headers["Content-Type"] == "text/plain; charset=utf-8"
    verifier = notes.parse_vkey(key.get_data(as_text=True))
    assert verifier == published
    answer = http.get("/v1/log/checkpoint")
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    text, _ = notes.verify_note(answer.get_data(as_text=True), verifier)
    checkpoint = notes.parse_checkpoint(text)
    assert checkpoint.tree_size == 5
    filing = make_key("filing")
    person = http.post(
        "/v1/people/lookup", json={"id_number": record("x")["id_number"]}, headers=bearer(filing)
    ).get_json()["person_id"]
    transcript = http.get(f"/v1/people/{person}/transcript", headers=bearer(filing)).get_json()
    assert len(transcript["entries"]) == 3
    for entry in transcript["entries"]:
        proof = http.get(f"/v1/log/proof/inclusion?entry_id={entry['entry_id']}").get_json()
        assert b(proof["leaf_hash"]) == merkle.leaf_hash(bytes.fromhex(entry["hash"]))
        assert proof["tree_size"] == 5
        assert set(proof) == {
            "entry_id",
            "leaf_index",
            "tree_size",
            "leaf_hash",
            "hashes",
        }
        merkle.verify_inclusion(
            proof["leaf_index"],
            5,
            b(proof["leaf_hash"]),
            [b(h) for h in proof["hashes"]],
            checkpoint.root_hash,
        )


def test_consistency_proofs_over_http(http: FlaskClient, published: notes.Verifier) -> None:
    answer = http.get("/v1/log/proof/consistency?from=2&to=5")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["from"], body["to"]) == (2, 5)
    assert len(body["hashes"]) >= 1
    two = http.get("/v1/log/proof/inclusion?entry_id=1&tree_size=2").get_json()
    root2 = merkle.root_from_inclusion(0, 2, b(two["leaf_hash"]), [b(h) for h in two["hashes"]])
    five = notes.parse_checkpoint(
        notes.split_note(http.get("/v1/log/checkpoint").get_data(as_text=True))[0]
    )
    merkle.verify_consistency(2, 5, root2, five.root_hash, [b(h) for h in body["hashes"]])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/log/proof/inclusion?entry_id=1&tree_size=0", 400),
        ("/v1/log/proof/inclusion?entry_id=1&tree_size=6", 400),
        ("/v1/log/proof/inclusion?entry_id=5&tree_size=3", 400),
        ("/v1/log/proof/inclusion?entry_id=77", 404),
        ("/v1/log/proof/consistency?from=0&to=3", 400),
        ("/v1/log/proof/consistency?from=4&to=3", 400),
        ("/v1/log/proof/consistency?from=1&to=9", 400),
        ("/v1/log/proof/consistency?from=x&to=3", 422),
    ],
)
def test_bad_sizes_and_ids_are_problems(
    http: FlaskClient, published: notes.Verifier, path: str, status: int
) -> None:
    answer = http.get(path)
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"


def test_a_configured_witness_cosignature_is_kept_and_served(
    http: FlaskClient, published: notes.Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness = ed25519.Ed25519PrivateKey.generate()
    vkey = notes.Verifier(
        "audit.example/w1", notes.COSIGNATURE_V1, witness.public_key().public_bytes_raw()
    ).vkey()
    note = http.get("/v1/log/checkpoint").get_data(as_text=True)
    line = notes.cosign(notes.split_note(note)[0], "audit.example/w1", witness, 1_700_000_000)
    refused = http.post("/v1/log/cosignatures", data=note + line, content_type="text/plain")
    assert refused.status_code == 400  # not a configured witness
    monkeypatch.setenv(checkpoints.WITNESSES_ENV, vkey)
    kept = http.post("/v1/log/cosignatures", data=note + line, content_type="text/plain")
    assert kept.status_code == 200
    assert kept.get_json() == {"tree_size": 5, "cosignatures": 1}
    assert http.get("/v1/log/checkpoint").get_data(as_text=True) == note + line
    garbage = http.post("/v1/log/cosignatures", data=b"\xff\xfe", content_type="text/plain")
    assert garbage.status_code == 400
