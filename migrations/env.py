"""Alembic environment: plain Alembic, metadata from ``ledger``, no Flask needed."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ledger.db.engine import database_url, make_engine
from ledger.entries.partitions import include_object
from ledger.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite" and not connection.in_transaction():
        # Rebuilding a table that others reference (SQLite's batch mode) needs foreign keys off
        # while it runs, and SQLite only switches them outside a transaction. They are checked
        # once the migration has committed, and switched back on.
        sqlite = connection.connection.driver_connection
        assert sqlite is not None
        sqlite.execute("PRAGMA foreign_keys=OFF")
        try:
            _migrate(connection)
        finally:
            sqlite.execute("PRAGMA foreign_keys=ON")
        broken = sqlite.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        return
    _migrate(connection)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Partitioning (0013, PostgreSQL) changes some of entries' constraints on purpose.
        include_object=include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or database_url()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
