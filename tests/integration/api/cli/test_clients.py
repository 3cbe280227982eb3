"""``cehours clients add|list|revoke``: keys shown once, stored as hashes, revocable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cli import main
from ledger.access.clients import hash_key
from ledger.access.tables import Client
from tests.factories import record
from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401 (a fixture)
from tests.integration.api.conftest import bearer


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", db_url)
    return CliRunner()


def test_a_platform_key_is_printed_once_and_stored_as_a_hash(
    cli: CliRunner, source: str, app_session: Session, http: FlaskClient
) -> None:
    added = cli.invoke(
        main, ["clients", "add", "--name", "衢州平台", "--role", "platform", "--source", source]
    )
    assert added.exit_code == 0, added.output
    key = added.stdout.strip()
    assert key.startswith("ceh_")
    assert "shown only now" in added.stderr
    with app_session.begin():
        stored = app_session.scalars(select(Client)).one()
    assert stored.key_hash == hash_key(key)
    assert key not in (stored.key_hash, stored.key_prefix)
    assert key.startswith(stored.key_prefix)

    listed = cli.invoke(main, ["clients", "list"])
    assert listed.exit_code == 0
    assert stored.key_prefix in listed.output
    assert key not in listed.output
    assert "active" in listed.output

    posted = http.post("/v1/records", json={"records": [record("a")]}, headers=bearer(key))
    assert posted.status_code == 200

    revoked = cli.invoke(main, ["clients", "revoke", str(stored.id)])
    assert revoked.exit_code == 0
    assert "revoked" in cli.invoke(main, ["clients", "list"]).output
    again = http.post("/v1/records", json={"records": [record("b")]}, headers=bearer(key))
    assert again.status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "platform"], "must be bound to a source"),
        (["--role", "filing", "--source", "quzhou-city"], "not bound to a source"),
        (["--role", "platform", "--source", "nowhere"], "unknown source"),
    ],
)
def test_a_key_bound_wrongly_is_refused(
    cli: CliRunner, source: str, args: list[str], message: str
) -> None:
    result = cli.invoke(main, ["clients", "add", "--name", "x", *args])
    assert result.exit_code == 1
    assert message in result.stderr


def test_revoking_an_unknown_client_fails(cli: CliRunner) -> None:
    result = cli.invoke(main, ["clients", "revoke", "999"])
    assert result.exit_code == 1
    assert "no client 999" in result.stderr
