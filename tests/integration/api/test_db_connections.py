"""Pooled connections the database closed (a restart, an idle timeout) on PostgreSQL.

The app tests a pooled connection before use only once it has been idle for
``DB_PING_AFTER_IDLE_SECONDS`` (see ``api.db.ping_when_idle``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from api.app import create_app

pytestmark = pytest.mark.postgres

MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app(pg_db_url: str) -> Iterator[MakeApp]:
    """``make_app(**config)``: the app on a PostgreSQL database, with ``config`` on top."""
    made: list[Flask] = []

    def make(**config: object) -> Flask:
        app = create_app({"DATABASE_URL": pg_db_url, "TESTING": True, **config})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["cehours"].engine.dispose()


def close_every_connection_of(app: Flask) -> None:
    """What a database restart does to the app's pooled connections."""
    engine = app.extensions["cehours"].engine
    admin = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        closed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    admin.dispose()
    assert closed, "the app had no pooled connection to close"


def ready(app: Flask) -> int:
    return app.test_client().get("/readyz").status_code


def test_a_connection_closed_while_idle_is_replaced_before_a_request_sees_it(
    make_app: MakeApp,
) -> None:
    app = make_app(DB_PING_AFTER_IDLE_SECONDS=0)
    assert ready(app) == 200
    close_every_connection_of(app)
    assert ready(app) == 200


def test_a_connection_used_a_moment_ago_is_not_tested_and_the_pool_recovers_after_one_failure(
    make_app: MakeApp,
) -> None:
    app = make_app(DB_PING_AFTER_IDLE_SECONDS=3600)
    assert ready(app) == 200
    close_every_connection_of(app)
    # Trusted without a test, the dead connection fails this one request ...
    assert ready(app) == 503
    # ... and the pool, having seen the disconnect, hands out a new connection.
    assert ready(app) == 200


def test_engine_options_may_ask_for_a_test_on_every_checkout(make_app: MakeApp) -> None:
    app = make_app(DB_PING_AFTER_IDLE_SECONDS=3600, ENGINE_OPTIONS={"pool_pre_ping": True})
    assert ready(app) == 200
    close_every_connection_of(app)
    assert ready(app) == 200
