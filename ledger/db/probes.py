"""The readiness probe's question to the database: would it take a write now?"""

from __future__ import annotations

import os
import shutil

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ledger.db.engine import WRITE_OPTION
from ledger.db.faults import fault_name

MIN_FREE_BYTES = 1024 * 1024
"""A SQLite database whose disk has less free space than this is reported not ready."""


def write_problem(engine: Engine) -> str | None:
    """Why the database would refuse a write right now (``None``: it would take one).

    Give it an engine without a pool (``make_engine(url, poolclass=NullPool)``): a SQLite file
    made read-only still accepts writes through connections opened before, so only a new
    connection tells. On SQLite it takes the write lock, makes a write that changes nothing and
    rolls it back (a lock held elsewhere longer than the engine's lock timeout, or a read-only
    file, is a problem), and checks the disk's free space; on
    PostgreSQL it asks whether the server is a read-only standby.
    """
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                transaction = conn.execution_options(**{WRITE_OPTION: True}).begin()
                # A write that changes nothing and is rolled back: a read-only file takes the
                # lock but refuses this.
                conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
                transaction.rollback()
                return _disk_problem(engine.url.database)
            if conn.scalar(text("SELECT pg_is_in_recovery()")):
                return "the database server is a read-only standby"
    except DBAPIError as exc:
        return fault_name(exc)
    return None


def _disk_problem(database: str | None) -> str | None:
    if not database or database == ":memory:":
        return None
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(database))).free
    if free < MIN_FREE_BYTES:
        return f"the disk holding the database is full ({free} bytes free)"
    return None
