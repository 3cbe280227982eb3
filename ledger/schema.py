"""The whole schema (every aggregate's tables), and running the Alembic migrations from code.

Each aggregate declares its tables in its own ``tables`` module; this is the one place that
gathers them, so that Alembic (``migrations/env.py``) and ``cehours db upgrade`` see them all.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ledger.access import tables as access_tables
from ledger.attestations import tables as attestation_tables
from ledger.db.base import Base
from ledger.entries import tables as entry_tables
from ledger.log import tables as log_tables
from ledger.sync import tables as sync_tables

TABLE_MODULES = (entry_tables, attestation_tables, access_tables, sync_tables, log_tables)
"""Every module that declares tables: importing them is what puts their tables in ``metadata``."""
metadata = Base.metadata
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` that works from any working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (the only way the schema is created)."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` when it was never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
