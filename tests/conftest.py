"""Database fixtures: every integration test gets a freshly migrated SQLite and PostgreSQL.

Databases are built by Alembic (never ``create_all``): one migrated template per run, copied for
each test (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL). With
``CI=true`` an unreachable PostgreSQL fails the run instead of skipping its tests.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.db.engine import POOLER_ENV, make_engine, make_session_factory
from ledger.schema import upgrade_database
from tests.pg_servers import PgBouncer, free_port, start_pgbouncer

PG_ADMIN_URL = os.environ.get(
    "CEHOURS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"

# No time limit per generated example: on a shared, loaded machine one example of a property
# test sometimes took longer than Hypothesis's default 200 ms, and Hypothesis then failed the
# test as flaky (it passed when run again). Speed is measured in bench/, not asserted here.
settings.register_profile("cehours", deadline=None)
settings.load_profile("cehours")
_counter = itertools.count()


def _pg_admin() -> Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """Name of a migrated PostgreSQL template database, or None when PostgreSQL is absent."""
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}")
        yield None
        return
    name = f"cehours_tpl_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    upgrade_database(_pg_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return path


def fresh_database(
    kind: str, sqlite_template: Path, pg_template: str | None, tmp_path: Path
) -> Iterator[str]:
    """Yield the URL of a new migrated database of ``kind``; drop it afterwards."""
    if kind == "sqlite":
        path = tmp_path / f"ledger-{next(_counter)}.sqlite3"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if pg_template is None:
        # Only outside CI: with CI=true, pg_template has already failed the run. A developer
        # without a local PostgreSQL still runs the SQLite half of every test.
        pytest.skip("PostgreSQL is not reachable (set CI=true to make this a failure)")
    name = f"cehours_t_{os.getpid()}_{next(_counter)}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE {pg_template}"))
    try:
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def pgbouncer(pg_template: str | None) -> Iterator[PgBouncer | None]:
    """PgBouncer in transaction mode in front of the test PostgreSQL, started for this run
    (tests/pg_servers.py); None when PostgreSQL is absent."""
    if pg_template is None:
        yield None
        return
    server_port = sa.engine.make_url(PG_ADMIN_URL).port or 5432
    bouncer = start_pgbouncer(server_port, free_port())
    yield bouncer
    bouncer.stop()


def through_pgbouncer(
    kind: str,
    sqlite_template: Path,
    pg_template: str | None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    """As :func:`fresh_database`; for ``postgresql-pgbouncer`` the database is reached through
    PgBouncer, and every engine of the test (subprocesses too) is told so by the environment."""
    if kind != "postgresql-pgbouncer":
        yield from fresh_database(kind, sqlite_template, pg_template, tmp_path)
        return
    bouncer: PgBouncer | None = request.getfixturevalue("pgbouncer")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for url in fresh_database("postgresql", sqlite_template, pg_template, tmp_path):
        assert bouncer is not None  # fresh_database skipped (or failed in CI) without a server
        monkeypatch.setenv(POOLER_ENV, "true")
        yield bouncer.url(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    pg_template: str | None,
    tmp_path: Path,
) -> Iterator[str]:
    """A freshly migrated database, once on SQLite and once on PostgreSQL."""
    yield from fresh_database(request.param, sqlite_template, pg_template, tmp_path)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated SQLite database only (for tests whose subject is not the database)."""
    yield from fresh_database("sqlite", sqlite_template, None, tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def pg_db_url(sqlite_template: Path, pg_template: str | None, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated PostgreSQL database only (for PostgreSQL-specific behaviour)."""
    yield from fresh_database("postgresql", sqlite_template, pg_template, tmp_path)
