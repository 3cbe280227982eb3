"""``cehours demo`` loads realistic data once, however often it runs, and the ledger verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from api.cli import main
from api.demo import CITY, DEMO_ID_NUMBER, PROVINCE
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.audit import verify_ledger
from ledger.entries.people import find_person_id, get_person_totals


def test_demo_is_idempotent_and_spans_two_platforms(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CEHOURS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY_FILE", raising=False)
    first = CliRunner().invoke(main, ["demo"])
    second = CliRunner().invoke(main, ["demo"])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "created, 0 already held" in first.output
    assert "demo: 0 demo records created" in second.output
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        assert verify_ledger(session).ok
        person = find_person_id(session, DEMO_ID_NUMBER)
        totals = get_person_totals(session, person)
        with session.begin():
            sources = set(
                session.scalars(
                    sa.text("SELECT DISTINCT source_id FROM entries WHERE person_id = :p"),
                    {"p": person},
                )
            )
    engine.dispose()
    assert sources == {CITY, PROVINCE}
    assert set(totals) == {2019, 2020, 2021, 2024, 2025, 2026}
    assert (tmp_path / "dev-key-encryption-key").stat().st_mode & 0o077 == 0
