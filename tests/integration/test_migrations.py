"""The schema comes from Alembic alone, on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ledger.db.engine import make_engine
from ledger.entries.partitions import include_object
from ledger.schema import alembic_config, current_revision, head_revision, metadata


def test_database_is_migrated_to_head(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        names = set(sa.inspect(engine).get_table_names())
        assert {"people", "sources", "entries", "records", "balances"} <= names
    finally:
        engine.dispose()


def test_alembic_check_finds_no_drift(db_url: str) -> None:
    command.check(alembic_config(db_url))
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(
                    conn,
                    opts={
                        "compare_type": True,
                        "include_object": include_object(conn.dialect.name),
                    },
                ),
                metadata,
            )
        assert diff == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    config = alembic_config(db_url)
    command.downgrade(config, "base")
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert "entries" not in sa.inspect(engine).get_table_names()
        command.upgrade(config, "head")
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_0005_keeps_a_populated_ledger_whole_both_ways(db_url: str) -> None:
    """0005 rebuilds entries, records and balances on SQLite (dropping constraints), with rows
    that reference one another: every row, hash and trigger survives, up and down."""
    from ledger.db.engine import make_session_factory
    from ledger.entries.append import append_records
    from ledger.entries.audit import verify_ledger
    from ledger.entries.reversal import reverse_record
    from tests.factories import city_source, record

    config = alembic_config(db_url)
    command.downgrade(config, "0004")
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            source = city_source(session)
            append_records(
                session, source, [record(f"r{i}", person=i % 3) for i in range(9)], actor="t"
            )
            reverse_record(session, source, "r4", reason="wrong", actor="t")
        for target in ("head", "0004", "head"):
            (command.upgrade if target == "head" else command.downgrade)(config, target)
            with make_session_factory(engine)() as session:
                report = verify_ledger(session)
            assert report.ok, (target, report.problems)
            assert report.entries == 10
            with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
                conn.exec_driver_sql("DELETE FROM entries")
    finally:
        engine.dispose()
