"""What an operator reads from the CLI on the demo: every list under a header row, moments in
Asia/Shanghai time without microseconds, ``ledger verify``'s progress only when asked (or on a
terminal), and ``verify`` naming the checks it did not do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.cli import main
from api.demo import DEMO_ID_NUMBER
from ledger.attestations import key_encryption
from ledger.attestations.issuance import issue_attestation
from ledger.attestations.signing_keys import get_jwks
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.people import find_person_id

SHANGHAI_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00")
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@pytest.fixture
def demo(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CEHOURS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY_FILE", raising=False)
    loaded = CliRunner().invoke(main, ["demo"])
    assert loaded.exit_code == 0, loaded.output
    monkeypatch.setenv(
        key_encryption.KEK_FILE_ENV, str(tmp_path / "var" / "dev-key-encryption-key")
    )
    return sqlite_url


def cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(
    ("command", "header"),
    [
        (["sources", "list"], ["ID", "KIND", "REGION", "MODE", "CREATED", "NAME"]),
        (["clients", "list"], ["ID", "ROLE", "SOURCE", "KEY", "PREFIX", "STATE", "CREATED"]),
        (["keys", "list"], ["KID", "ALG", "STATUS", "PUBLISHED", "CREATED", "PUBLISHED"]),
        (["profiles", "list"], ["PROFILE", "DIGEST", "TITLE", "TITLE", "(EN)"]),
        (["sync", "status"], ["SOURCE", "LAST", "RUN", "STATUS", "STARTED", "FINISHED"]),
        (["sync", "quarantine", "quzhou-city"], ["RECORD", "STATE", "SEEN", "FIRST", "SEEN"]),
    ],
)
def test_every_list_starts_with_a_header_row(
    demo: str, command: list[str], header: list[str]
) -> None:
    if command[0] == "clients":
        cli("clients", "add", "--name", "filing system", "--role", "filing")
    lines = cli(*command).stdout.splitlines()
    assert lines[0].split()[: len(header)] == header


def test_lists_show_moments_in_shanghai_time_to_the_second(demo: str) -> None:
    cli("clients", "add", "--name", "filing system", "--role", "filing")
    cli("clients", "revoke", "1")
    for command in (["sources", "list"], ["clients", "list"], ["keys", "list"]):
        rows = cli(*command).stdout.splitlines()[1:]
        assert rows, command
        for row in rows:
            assert SHANGHAI_MOMENT.search(row), row
            assert not ISO_MOMENT.search(row), row
    (client,) = cli("clients", "list").stdout.splitlines()[1:]
    assert re.search(r"revoked \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+08:00", client)


def test_ledger_verify_shows_a_total_and_an_eta_only_when_asked(demo: str) -> None:
    quiet = cli("ledger", "verify")
    assert quiet.stderr == ""  # not a terminal: nothing but the result
    shown = cli("ledger", "verify", "--progress")
    entries = re.search(r"checked \d+ people, (\d+) entries", shown.stdout)
    assert entries
    total = entries.group(1)
    # tqdm's bar: done/total, then [elapsed<remaining] (the ETA).
    assert re.search(rf"entries: 100%.*{total}/{total} \[\d\d:\d\d<\d\d:\d\d", shown.stderr)
    assert shown.stdout.splitlines()[-1] == quiet.stdout.splitlines()[-1] == "ledger verify: OK"
    assert shown.stdout == quiet.stdout


def test_verify_says_which_checks_it_did_not_do(demo: str, tmp_path: Path) -> None:
    engine = make_engine(demo)
    try:
        with make_session_factory(engine)() as session:
            person = find_person_id(session, DEMO_ID_NUMBER)
            kek = key_encryption.load_kek()
            issued = issue_attestation(
                session, person, "quzhou-annual-90", None, None, "test", kek=kek
            )
            jwks = tmp_path / "jwks.json"
            jwks.write_text(json.dumps(get_jwks(session)), encoding="utf-8")
    finally:
        engine.dispose()
    base = ["verify", issued.token, "--jwks", str(jwks)]
    offline = cli(*base).stdout.splitlines()
    assert offline[0].startswith(f"OK {issued.jti}")
    assert SHANGHAI_MOMENT.search(offline[0])  # expires=...
    assert [line.split(":")[1].strip() for line in offline[1:]] == [
        "id-binding",
        "status",
        "log-inclusion",
    ]
    assert all(line.startswith("not checked: ") for line in offline[1:])
    as_json = json.loads(cli(*base, "--json", "--id-number", DEMO_ID_NUMBER).stdout)
    assert [c["check"] for c in as_json["not_checked"]] == ["status", "log-inclusion"]
    assert as_json["ok"] is True
