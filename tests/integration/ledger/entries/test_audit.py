"""``cehours ledger verify``: passes on a fresh ledger, names the entry on a tampered one."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.entries.append import append_records
from ledger.entries.audit import verify_ledger
from ledger.entries.reversal import reverse_record
from tests.factories import city_source, record


def fill(session: Session) -> None:
    src = city_source(session)
    append_records(session, src, [record(f"r{i}", person=i % 4) for i in range(20)], actor="t")
    reverse_record(session, src, "r3", reason="wrong course", actor="ops")


def tamper(engine: Engine, statement: str) -> None:
    """Edit entries behind the triggers' back, as a DBA with superuser rights could."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER entries_no_update")
            conn.exec_driver_sql(statement)
        else:
            conn.exec_driver_sql("ALTER TABLE entries DISABLE TRIGGER entries_no_update_delete")
            conn.exec_driver_sql(statement)
            conn.exec_driver_sql(
                "ALTER TABLE entries ENABLE ALWAYS TRIGGER entries_no_update_delete"
            )


def cli_verify(db_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "ledger", "verify"],
        env={**os.environ, "CEHOURS_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_passes_on_a_fresh_ledger(session: Session, db_url: str) -> None:
    fill(session)
    report = verify_ledger(session)
    assert report.ok, report.problems
    assert (report.people, report.entries) == (4, 21)
    done = cli_verify(db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ledger verify: OK" in done.stdout


def test_verify_names_an_entry_whose_hours_were_edited(
    session: Session, engine: Engine, db_url: str
) -> None:
    fill(session)
    with engine.connect() as conn:
        target = conn.execute(sa.text("SELECT id FROM entries WHERE external_id = 'r7'")).scalar()
    tamper(engine, "UPDATE entries SET hours = 990 WHERE external_id = 'r7'")
    report = verify_ledger(session)
    assert not report.ok
    assert any(p.startswith(f"entry {target} ") and "hash mismatch" in p for p in report.problems)
    assert any(p.startswith("balance of person") for p in report.problems)
    done = cli_verify(db_url)
    assert done.returncode == 1
    assert f"FAIL entry {target} " in done.stdout


def test_verify_notices_a_rewritten_chain_link(session: Session, engine: Engine) -> None:
    fill(session)
    tamper(engine, "UPDATE entries SET prev_hash = NULL WHERE seq = 2")
    report = verify_ledger(session)
    assert any("prev_hash does not match" in p for p in report.problems)


def test_verify_names_rows_that_point_at_a_person_or_source_that_does_not_exist(
    session: Session, engine: Engine
) -> None:
    """No foreign keys guard these names (migration 0005); verify does."""
    fill(session)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO balances (person_id, year, category, source_id, hours, entry_count) "
            "VALUES ('p_nobody', 2024, 'specialised', 'nowhere', 10, 1)"
        )
    report = verify_ledger(session)
    assert not report.ok
    assert "1 balances name a person that does not exist" in report.problems
    assert "1 balances name a source that does not exist" in report.problems
