"""Over real HTTP on 127.0.0.1: another JOSE library verifies our tokens with the JWKS alone,
and ``cehours verify`` fetches the JWKS and the status from the running service."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from jwcrypto import jwk as jw_jwk
from jwcrypto import jwt as jw_jwt
from jwcrypto.jws import InvalidJWSSignature
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from api.app import create_app
from ledger.access.clients import create_client
from ledger.attestations import key_encryption, signing_keys
from tests.factories import city_source, id_number, record

ISSUER = "https://cehours.e2e/"


@pytest.fixture
def service(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, dict[str, str], Session, bytes]]:
    kek_text = key_encryption.new_kek_text()
    monkeypatch.setenv(key_encryption.KEK_ENV, kek_text)
    monkeypatch.setenv("CEHOURS_ISSUER", ISSUER)
    app = create_app({"DATABASE_URL": sqlite_url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.extensions["cehours"].sessions() as session:
        source = city_source(session)
        keys = {
            role: create_client(
                session, name=role, role=role, source_id=source if role == "platform" else None
            )[1]
            for role in ("platform", "filing", "admin")
        }
        yield (
            f"http://127.0.0.1:{server.server_port}",
            keys,
            session,
            key_encryption.parse_kek(kek_text),
        )
    server.shutdown()
    thread.join(5)
    app.extensions["cehours"].engine.dispose()


def _issue(base: str, keys: dict[str, str], external_id: str) -> dict[str, str]:
    bearer = {"Authorization": f"Bearer {keys['platform']}"}
    pushed = requests.post(
        f"{base}/v1/records",
        json={"records": [record(external_id, hours="95", completed_on="2024-05-01")]},
        headers=bearer,
        timeout=10,
    )
    assert pushed.status_code == 200, pushed.text
    issued = requests.post(
        f"{base}/v1/attestations",
        json={"id_number": id_number(1), "profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers={"Authorization": f"Bearer {keys['filing']}"},
        timeout=10,
    )
    assert issued.status_code == 201, issued.text
    body: dict[str, str] = issued.json()
    return body


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_jwcrypto_verifies_our_token_with_only_the_published_jwks(
    service: tuple[str, dict[str, str], Session, bytes], alg: str
) -> None:
    base, keys, session, kek = service
    signing_keys.create_key(session, kek, actor="ops", alg=alg)
    issued = _issue(base, keys, "a")
    key_set = jw_jwk.JWKSet.from_json(
        requests.get(f"{base}/.well-known/jwks.json", timeout=10).text
    )
    token = jw_jwt.JWT(
        jwt=issued["token"],
        key=key_set,
        algs=[alg],
        check_claims={"iss": ISSUER, "exp": None, "jti": issued["jti"]},
    )
    claims = json.loads(token.claims)
    assert claims["compliant"] is True
    assert claims["profile"]["id"] == "quzhou-annual-90"
    header = json.loads(token.header)
    assert header["typ"] == "ce-attestation+jwt"
    assert header["alg"] == alg


def test_jwcrypto_refuses_a_doctored_token(
    service: tuple[str, dict[str, str], Session, bytes],
) -> None:
    base, keys, session, kek = service
    signing_keys.create_key(session, kek, actor="ops")
    issued = _issue(base, keys, "a")
    header, payload, signature = issued["token"].split(".")
    key_set = jw_jwk.JWKSet.from_json(
        requests.get(f"{base}/.well-known/jwks.json", timeout=10).text
    )
    other = _issue(base, keys, "b")["token"].split(".")[1]
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    with pytest.raises(InvalidJWSSignature):
        jw_jwt.JWT(jwt=f"{header}.{other}.{signature}", key=key_set.get_key(kid), algs=["EdDSA"])
    assert payload != other


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )


def test_cehours_verify_against_the_running_service(
    service: tuple[str, dict[str, str], Session, bytes],
) -> None:
    base, keys, session, kek = service
    signing_keys.create_key(session, kek, actor="ops")
    issued = _issue(base, keys, "a")
    jwks_url = f"{base}/.well-known/jwks.json"
    common = ["--jwks", jwks_url, "--issuer", ISSUER, "--check-status", base]
    ok = _cli("verify", issued["token"], *common, "--id-number", id_number(1))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"OK {issued['jti']}")
    revoke = requests.post(
        f"{base}/v1/attestations/{issued['jti']}/revocation",
        json={"reason": "falsified hours"},
        headers={"Authorization": f"Bearer {keys['admin']}"},
        timeout=10,
    )
    assert revoke.status_code == 200, revoke.text
    revoked = _cli("verify", issued["token"], *common)
    assert revoked.returncode == 1
    assert revoked.stdout.startswith("FAIL revoked")


def test_cehours_verify_through_the_status_list_caches_it_within_its_ttl(
    service: tuple[str, dict[str, str], Session, bytes], tmp_path: Path
) -> None:
    base, keys, session, kek = service
    signing_keys.create_key(session, kek, actor="ops")
    issued = _issue(base, keys, "a")
    cache = tmp_path / "lists"
    online = ["--jwks", f"{base}/.well-known/jwks.json", "--issuer", ISSUER, "--status-list"]
    ok = _cli("verify", issued["token"], *online, "--status-cache", str(cache))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert len(list(cache.iterdir())) == 1
    revoke = requests.post(
        f"{base}/v1/attestations/{issued['jti']}/revocation",
        json={"reason": "falsified hours"},
        headers={"Authorization": f"Bearer {keys['admin']}"},
        timeout=10,
    )
    assert revoke.status_code == 200, revoke.text
    # Within the list's ttl the cached copy is used, as the draft allows: still valid.
    cached = _cli("verify", issued["token"], *online, "--status-cache", str(cache))
    assert cached.returncode == 0, cached.stdout
    fresh = _cli("verify", issued["token"], *online)
    assert fresh.returncode == 1
    assert fresh.stdout.startswith("FAIL revoked")


def _readme_example() -> str:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Attestations", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_pyjwt_example_verifies_a_live_token(
    service: tuple[str, dict[str, str], Session, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    base, keys, session, kek = service
    signing_keys.create_key(session, kek, actor="ops")
    issued = _issue(base, keys, "a")
    code = _readme_example()
    assert "assert " not in code  # explicit errors, which python -O keeps
    placeholder = 'BASE, ISSUER = "https://cehours.example", "https://cehours.example/"'
    assert placeholder in code
    code = code.replace(placeholder, f"BASE, ISSUER = {base!r}, {ISSUER!r}")
    # The README's example is the subject under test, run as a filing system would run it.
    exec(code, {"token": issued["token"], "id_number": id_number(1)})  # noqa: S102
    assert capsys.readouterr().out.startswith("True {")
    with pytest.raises(Exception, match="not about this applicant") as refused:
        exec(code, {"token": issued["token"], "id_number": id_number(2)})  # noqa: S102
    assert type(refused.value).__name__ == "NotAcceptable"


def _readme_status_list_example() -> str:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Filing offices", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_status_list_example_reads_a_live_list(
    service: tuple[str, dict[str, str], Session, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    base, keys, session, kek = service
    signing_keys.create_key(session, kek, actor="ops")
    issued = _issue(base, keys, "a")
    code = _readme_status_list_example()
    placeholder = 'BASE, ISSUER = "https://cehours.example", "https://cehours.example/"'
    assert placeholder in code
    code = code.replace(placeholder, f"BASE, ISSUER = {base!r}, {ISSUER!r}")
    exec(code, {"token": issued["token"]})  # noqa: S102
    assert capsys.readouterr().out == "valid\n"
    revoke = requests.post(
        f"{base}/v1/attestations/{issued['jti']}/revocation",
        json={"reason": "falsified hours"},
        headers={"Authorization": f"Bearer {keys['admin']}"},
        timeout=10,
    )
    assert revoke.status_code == 200
    exec(code, {"token": issued["token"]})  # noqa: S102
    assert capsys.readouterr().out == "revoked\n"
