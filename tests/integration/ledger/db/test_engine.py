"""Engine settings the ledger relies on."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ledger.db.engine import make_engine
from ledger.db.fast import driver_rows, statement_rows
from ledger.db.transactions import read_transaction, write_transaction
from ledger.entries.append import append_records
from ledger.entries.tables import Entry, Source
from tests.factories import city_source, record


def _jit_setting(url: str, **options: object) -> str:
    engine = make_engine(url, **options)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW jit").scalar_one())
    finally:
        engine.dispose()


def test_postgresql_connections_do_not_jit_compile(pg_db_url: str) -> None:
    """Compiling a plan whose estimate crosses jit_above_cost took 38 ms against a 2 ms
    execution of an evaluation's read; every query here is an indexed read or a batch write."""
    assert _jit_setting(pg_db_url) == "off"


def test_given_connect_args_replace_the_default(pg_db_url: str) -> None:
    assert _jit_setting(pg_db_url, connect_args={"options": "-c jit=on"}) == "on"


def test_driver_rows_equal_sqlalchemys_and_errors_stay_sqlalchemys(session: Session) -> None:
    """``driver_rows`` (psycopg's cursor on PostgreSQL, SQLAlchemy on SQLite) returns the rows
    SQLAlchemy would, binds the values a statement carries itself, and raises SQLAlchemy's
    errors (on PostgreSQL without the parameters)."""
    source = city_source(session)
    append_records(session, source, [record("r-1"), record("r-2", hours="2.5")], actor="t")
    columns = select(Entry.id, Entry.external_id, Entry.completed_on, Entry.recorded_at)
    by_person = columns.where(Entry.person_id == bindparam("p")).order_by(Entry.id)
    with read_transaction(session):
        person_id = session.scalars(select(Entry.person_id)).first()
        ours = driver_rows(session, by_person, {"p": person_id})
        theirs = session.connection().execute(by_person, {"p": person_id}).all()
    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    assert len(ours) == 2

    duplicate = insert(Source.__table__).values(
        id=bindparam("id"), kind="city", region_code="330800", display_name="x"
    )
    with pytest.raises(IntegrityError) as raised, write_transaction(session):
        driver_rows(session, duplicate, {"id": source})
    if session.get_bind().dialect.name == "postgresql":
        assert "[parameters:" not in str(raised.value)  # hidden: they may hold an ID number

    with pytest.raises(ValueError, match="expanding"), read_transaction(session):
        driver_rows(session, columns.where(Entry.id.in_(bindparam("ids", expanding=True))), {})


def test_a_statement_of_its_own_runs_without_begin_on_postgresql(session: Session) -> None:
    """``statement_rows`` reads without a transaction block on PostgreSQL (autocommit: its
    statement is a transaction of its own, no BEGIN and COMMIT round trips), reads in the
    caller's transaction when one is open, and leaves the connection as it found it, even when
    the statement fails."""
    source = city_source(session)
    append_records(session, source, [record("r-1")], actor="t")
    external_ids = select(Entry.external_id).where(Entry.person_id.is_not(None))
    assert statement_rows(session, external_ids, {}) == [("r-1",)]
    assert not session.in_transaction()
    if session.get_bind().dialect.name == "postgresql":
        # In a transaction block now() is when it began, before this statement; alone, the same.
        alone = select(func.now() == func.statement_timestamp())
        assert statement_rows(session, alone, {}) == [(True,)]
        with read_transaction(session):
            driver_rows(session, external_ids, {})
            assert statement_rows(session, alone, {}) == [(False,)]  # the caller's transaction

    with pytest.raises(DBAPIError):
        statement_rows(session, select(func.no_such_function()), {})
    assert not session.in_transaction()
    with read_transaction(session):  # still usable, and transactional again
        raw = session.connection().connection.dbapi_connection
        assert getattr(raw, "autocommit", False) is False
        assert driver_rows(session, external_ids, {}) == [("r-1",)]
