"""``cehours keys``, ``cehours attestations`` and ``cehours verify`` against a real database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from ledger.attestations import key_encryption, signing_keys
from ledger.attestations.issuance import issue_attestation
from ledger.attestations.status import get_attestation_status
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from tests.factories import city_source, id_number, record
from tests.integration.ledger.attestations.helpers import ISSUER, count_active_credits


@pytest.fixture
def cli(sqlite_url: str, kek: bytes, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_key_lifecycle_from_the_command_line(cli: CliRunner) -> None:
    created = run(cli, "keys", "create")
    kid = created.split()[1]
    assert "active" in created
    run(cli, "keys", "create", code=1)
    rotated = run(cli, "keys", "rotate", "--alg", "ES256")
    assert "ES256" in rotated
    assert f"rotated {kid}" in rotated
    listing = run(cli, "keys", "list")
    assert len(listing.splitlines()) == 3  # the header row and two keys
    assert listing.splitlines()[0].split()[:3] == ["KID", "ALG", "STATUS"]
    # A kid is a base64url thumbprint: one in 64 begins with "-", so it follows "--".
    run(cli, "keys", "retire", "--reason", "test", "--", kid)
    assert "retired" in run(cli, "keys", "list")


def test_keys_need_a_key_encryption_key(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(key_encryption.KEK_ENV)
    out = cli.invoke(main, ["keys", "create"])
    assert out.exit_code == 1
    assert key_encryption.KEK_ENV in out.output


def test_verify_and_revoke_from_the_command_line(
    cli: CliRunner, sqlite_url: str, kek: bytes, tmp_path: Path
) -> None:
    run(cli, "keys", "create")
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        city_source(session)
        person_id = append_records(session, "quzhou-city", [record("a", hours="95")], actor="p")[
            0
        ].person_id
        assert person_id is not None
        issued = issue_attestation(
            session,
            person_id,
            "any",
            dt.date(2025, 1, 1),
            None,
            "filing",
            evaluate=count_active_credits,
        )
        jwks_file = tmp_path / "jwks.json"
        jwks_file.write_text(json.dumps(signing_keys.get_jwks(session)))
    engine.dispose()

    ok = run(cli, "verify", issued.token, "--jwks", str(jwks_file), "--issuer", ISSUER)
    assert ok.startswith(f"OK {issued.jti}: compliant=true")
    assert id_number(1) not in ok
    mismatch = run(
        cli,
        "verify",
        issued.token,
        "--jwks",
        str(jwks_file),
        "--issuer",
        ISSUER,
        "--id-number",
        id_number(2),
        code=1,
    )
    assert mismatch.startswith("FAIL id-mismatch")
    from_env = cli.invoke(
        main,
        ["verify", issued.token, "--jwks", str(jwks_file), "--issuer", ISSUER],
        env={"CEHOURS_VERIFY_ID_NUMBER": id_number(2)},
    )
    assert from_env.output.startswith("FAIL id-mismatch")
    wrong_issuer = run(
        cli, "verify", issued.token, "--jwks", str(jwks_file), "--issuer", "https://x/", code=1
    )
    assert wrong_issuer.startswith("FAIL wrong-issuer")
    as_json = json.loads(
        run(cli, "verify", issued.token, "--jwks", str(jwks_file), "--issuer", ISSUER, "--json")
    )
    assert as_json["ok"] is True
    assert as_json["claims"]["sub"] == person_id

    revoked = run(cli, "attestations", "revoke", issued.jti, "--reason", "falsified")
    assert "revoked" in revoked
    run(cli, "attestations", "revoke", issued.jti, "--reason", "again", code=1)
    shown = json.loads(run(cli, "attestations", "show", issued.jti))
    assert shown["status"] == "revoked"
    assert [e["event"] for e in shown["events"]] == ["issued", "revoked"]
    run(cli, "verify", issued.token, "--jwks", str(tmp_path / "missing.json"), code=2)


def test_verify_with_a_status_document_that_cannot_be_fetched_fails_closed(
    cli: CliRunner, sqlite_url: str, kek: bytes, tmp_path: Path
) -> None:
    run(cli, "keys", "create")
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        city_source(session)
        person_id = append_records(session, "quzhou-city", [record("a")], actor="p")[0].person_id
        assert person_id is not None
        issued = issue_attestation(
            session, person_id, "any", None, None, "f", evaluate=count_active_credits
        )
        reverse_record(session, "quzhou-city", "a", reason="x", actor="p")
        jwks_file = tmp_path / "jwks.json"
        jwks_file.write_text(json.dumps(signing_keys.get_jwks(session)))
        status_file = tmp_path / "status-{jti}.json"
        Path(str(status_file).replace("{jti}", issued.jti)).write_text(
            json.dumps(get_attestation_status(session, issued.jti).to_dict())
        )
    engine.dispose()
    base = ["verify", issued.token, "--jwks", str(jwks_file), "--issuer", ISSUER]
    stale = run(cli, *base, "--check-status", str(status_file), code=1)
    assert stale.startswith("FAIL stale")
    unreachable = run(cli, *base, "--check-status", "http://127.0.0.1:9/", code=1)
    assert unreachable.startswith("FAIL status-unknown")
