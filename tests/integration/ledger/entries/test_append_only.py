"""Entries are append-only in the database itself: raw SQL cannot change or remove them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from tests.factories import city_source, record


@pytest.fixture
def ledger_with_an_entry(engine: Engine, session: Session) -> Engine:
    source = city_source(session)
    append_records(session, source, [record("r1")], actor="test")
    return engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE entries SET hours = 9990",
        "UPDATE entries SET hash = 'x'",
        "DELETE FROM entries",
        "DELETE FROM entries WHERE external_id = 'r1'",
    ],
)
def test_raw_update_and_delete_are_refused(ledger_with_an_entry: Engine, statement: str) -> None:
    with (
        ledger_with_an_entry.connect() as conn,
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
    ):
        conn.exec_driver_sql(statement)
    with ledger_with_an_entry.connect() as conn:
        hours = conn.exec_driver_sql("SELECT hours FROM entries").scalar_one()
    assert hours == 100  # 10.0 hours, stored as tenths, untouched


@pytest.mark.parametrize(
    ("statement", "match"),
    [
        ("DELETE FROM people", "never deleted|DELETE refused"),
        ("DELETE FROM sources", "never deleted|DELETE refused"),
        ("UPDATE people SET id = 'p_other'", "ids never change|UPDATE refused"),
        ("UPDATE people SET id_number = '110105194912310029'", "ids never change|UPDATE refused"),
        ("UPDATE sources SET id = 'elsewhere'", "ids never change|UPDATE refused"),
    ],
)
def test_the_people_and_sources_entries_name_cannot_vanish_or_move(
    ledger_with_an_entry: Engine, statement: str, match: str
) -> None:
    """Entries name their person and source without foreign keys (migration 0005); triggers
    keep those rows in place instead."""
    with ledger_with_an_entry.connect() as conn, pytest.raises(sa.exc.DatabaseError, match=match):
        conn.exec_driver_sql(statement)
    with ledger_with_an_entry.begin() as conn:
        # The append path's own update of the chain head still goes through.
        conn.exec_driver_sql("UPDATE people SET name = name, head_hash = head_hash")
        assert conn.exec_driver_sql("SELECT count(*) FROM people").scalar_one() == 1


@pytest.fixture
def pg_ledger(pg_db_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_db_url)
    with make_session_factory(engine)() as session:
        append_records(session, city_source(session), [record("r1")], actor="test")
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(pg_ledger: Engine) -> None:
    with pg_ledger.connect() as conn, pytest.raises(sa.exc.DatabaseError, match="TRUNCATE refused"):
        conn.exec_driver_sql("TRUNCATE entries CASCADE")


@pytest.mark.postgres
def test_triggers_fire_even_in_replica_mode(pg_ledger: Engine) -> None:
    with pg_ledger.connect() as conn:
        conn.exec_driver_sql("SET session_replication_role = replica")
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            conn.exec_driver_sql("DELETE FROM entries")
