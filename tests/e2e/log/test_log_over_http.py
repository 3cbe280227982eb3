"""Over real HTTP on 127.0.0.1: a witness process cosigns the service's checkpoints and raises
the alarm on a fork; ``cehours verify --log`` proves a token's head is in the log."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from api.app import create_app
from ledger.access.clients import create_client
from ledger.attestations import key_encryption, signing_keys
from ledger.log import checkpoints, notes
from ledger.log.sequencer import integrate
from tests.factories import city_source, id_number, record
from tests.integration.ledger.log.test_log import tamper

CEHOURS = str(Path(sys.executable).with_name("cehours"))
ISSUER = "https://cehours.e2e/"


class Service:
    def __init__(
        self, base: str, keys: dict[str, str], session: Session, kek: bytes, engine: Engine
    ) -> None:
        self.base, self.keys, self.session, self.kek, self.engine = base, keys, session, kek, engine

    def push(self, *external_ids: str) -> None:
        records = [record(e, hours="95", completed_on="2024-05-01") for e in external_ids]
        pushed = requests.post(
            f"{self.base}/v1/records",
            json={"records": records},
            headers={"Authorization": f"Bearer {self.keys['platform']}"},
            timeout=10,
        )
        assert pushed.status_code == 200, pushed.text


@pytest.fixture
def service(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    kek_text = key_encryption.new_kek_text()
    monkeypatch.setenv(key_encryption.KEK_ENV, kek_text)
    monkeypatch.setenv("CEHOURS_ISSUER", ISSUER)
    app = create_app({"DATABASE_URL": sqlite_url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kek = key_encryption.parse_kek(kek_text)
    with app.extensions["cehours"].sessions() as session:
        source = city_source(session)
        keys = {
            role: create_client(
                session, name=role, role=role, source_id=source if role == "platform" else None
            )[1]
            for role in ("platform", "filing")
        }
        checkpoints.create_log_key(session, kek, actor="ops")
        yield Service(
            f"http://127.0.0.1:{server.server_port}",
            keys,
            session,
            kek,
            app.extensions["cehours"].engine,
        )
    server.shutdown()
    thread.join(5)
    app.extensions["cehours"].engine.dispose()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CEHOURS, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_a_witness_cosigns_growth_and_alarms_on_a_fork(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file, state = tmp_path / "witness.key", tmp_path / "witness.state"
    made = run("witness", "init", "audit.example/w1", "--key-file", str(key_file))
    assert made.returncode == 0, made.stderr
    witness_vkey = made.stdout.strip()
    monkeypatch.setenv(checkpoints.WITNESSES_ENV, witness_vkey)
    log_vkey = requests.get(f"{service.base}/v1/log/key", timeout=10).text.strip()
    witness = [
        "witness",
        "run",
        "--log",
        service.base,
        "--log-key",
        log_vkey,
        "--key-file",
        str(key_file),
        "--state",
        str(state),
        "--once",
    ]
    service.push("a1", "a2")
    checkpoints.publish(service.session, service.kek)
    first = run(*witness)
    assert first.returncode == 0, first.stderr
    assert "cosigned cehours.example/log at size 2" in first.stdout
    served = requests.get(f"{service.base}/v1/log/checkpoint", timeout=10).text
    text, others = notes.verify_note(served, notes.parse_vkey(log_vkey))
    cosigner = notes.parse_vkey(witness_vkey)
    assert notes.verify_cosignature(text, others[0], cosigner) > 0
    service.push("a3")
    checkpoints.publish(service.session, service.kek)
    assert "cosigned cehours.example/log at size 3" in run(*witness).stdout
    # The operator rewrites the last entry, regrows the log from it and signs the new tree.
    tamper(service.engine, "entries", f"UPDATE entries SET hash = '{'ee' * 32}' WHERE id = 3")
    for table in ("log_leaves", "log_nodes", "log_heads", "log_checkpoints"):
        tamper(service.engine, table, f"DELETE FROM {table}")
    integrate(service.session)
    service.push("a4")
    checkpoints.publish(service.session, service.kek)
    alarm = run(*witness)
    assert alarm.returncode == 3
    assert "ALARM fork" in alarm.stderr


def test_verify_with_log_proves_the_token_head_is_logged(service: Service, tmp_path: Path) -> None:
    signing_keys.create_key(service.session, service.kek, actor="ops")
    service.push("b1")
    checkpoints.publish(service.session, service.kek)
    service.push("b2")  # newer than the checkpoint: issuing publishes one first
    issued = requests.post(
        f"{service.base}/v1/attestations",
        json={"id_number": id_number(1), "profile": "quzhou-annual-90", "as_of": "2024-12-31"},
        headers={"Authorization": f"Bearer {service.keys['filing']}"},
        timeout=10,
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    service.push("b3")
    checkpoints.publish(service.session, service.kek)
    verify = [
        "verify",
        token,
        "--jwks",
        f"{service.base}/.well-known/jwks.json",
        "--issuer",
        ISSUER,
        "--log",
        service.base,
    ]
    ok = run(*verify)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    other = notes.Verifier("cehours.example/log", notes.NOTE_ED25519, bytes(32)).vkey()
    pinned_wrong = run(*verify, "--log-key", other)
    assert pinned_wrong.returncode == 1
    assert "log-bad-checkpoint" in pinned_wrong.stdout
    for table in ("log_leaves", "log_nodes", "log_heads", "log_checkpoints"):
        tamper(service.engine, table, f"DELETE FROM {table}")
    tamper(service.engine, "entries", f"UPDATE entries SET hash = '{'ee' * 32}' WHERE id = 1")
    checkpoints.publish(service.session, service.kek)
    forked = run(*verify)
    assert forked.returncode == 1
    assert "log-inclusion" in forked.stdout or "log-inconsistent" in forked.stdout
