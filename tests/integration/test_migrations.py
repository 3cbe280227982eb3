"""The schema comes from Alembic alone, on SQLite and PostgreSQL, and matches the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ledger.db import make_engine
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
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
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
