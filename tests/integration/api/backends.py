"""The API's tests on a third backend: PostgreSQL through PgBouncer in transaction mode.

A test module runs on it too by importing the fixture (it replaces ``db_url`` there)::

    from tests.integration.api.backends import db_url_with_pgbouncer  # noqa: F401

Not every module does: each test costs a database of its own (about a second), and the whole
API suite a third time took 6.6 minutes on the shared 2-core machine. The modules that do cover
every kind of statement the API sends (issuance's one-statement store, evaluations, the log's
advisory locks and proofs, status lists, cohorts, lookups, the CLI in a subprocess), and
``test_pgbouncer.py`` drives the append path (the same inserts far past psycopg's prepare
threshold, from threads at once, so that transactions land on different server connections).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import through_pgbouncer


@pytest.fixture(
    name="db_url",
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("postgresql-pgbouncer", marks=pytest.mark.postgres),
    ],
)
def db_url_with_pgbouncer(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    pg_template: str | None,
    tmp_path: Path,
) -> Iterator[str]:
    """A fresh database on SQLite, on PostgreSQL, and on PostgreSQL through PgBouncer (each app
    and command of the test told so by ``CEHOURS_DB_TRANSACTION_POOLER``)."""
    yield from through_pgbouncer(request.param, sqlite_template, pg_template, tmp_path, request)
