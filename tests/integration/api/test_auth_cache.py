"""How long a worker trusts an API key it has checked (``AUTH_CACHE_SECONDS``).

A revocation made in the server's own process is seen at once (``test_records`` checks that);
one made by another process, such as ``cehours clients revoke`` beside a running server, is
simulated here by revoking the key in the database directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.app import create_app
from ledger.access.clients import create_client, hash_key, new_key, recent_keys
from ledger.access.tables import Client
from tests.integration.api.conftest import bearer

MakeApp = Callable[[float], Flask]


def revoke_elsewhere(session: Session, key: str) -> None:
    """Revoke ``key`` as another process would: in the database, behind this process's back."""
    with session.begin():
        session.execute(
            update(Client)
            .where(Client.key_hash == hash_key(key))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )


@pytest.fixture
def make_app(db_url: str) -> Iterator[MakeApp]:
    """``make_app(seconds)``: the app with ``AUTH_CACHE_SECONDS`` set."""
    made: list[Flask] = []

    def make(seconds: float) -> Flask:
        app = create_app({"DATABASE_URL": db_url, "TESTING": True, "AUTH_CACHE_SECONDS": seconds})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["cehours"].engine.dispose()


def status(app: Flask, key: str) -> int:
    return app.test_client().get("/v1/profiles", headers=bearer(key)).status_code


def filing_key(app: Flask) -> str:
    with app.extensions["cehours"].sessions() as session:
        return create_client(session, name="filing", role="filing")[1]


def test_with_the_cache_off_a_key_revoked_elsewhere_is_refused_at_once(make_app: MakeApp) -> None:
    app = make_app(0)
    key = filing_key(app)
    assert status(app, key) == 200
    with app.extensions["cehours"].sessions() as session:
        revoke_elsewhere(session, key)
    assert status(app, key) == 401


def test_a_key_revoked_elsewhere_is_refused_once_the_cache_time_has_passed(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clock is the test's: slept real time made this test fail on a loaded machine, when
    # more than the cache time passed between the first two requests.
    now = [1000.0]
    monkeypatch.setattr(recent_keys, "clock", lambda: now[0])
    app = make_app(5)
    key = filing_key(app)
    assert status(app, key) == 200
    with app.extensions["cehours"].sessions() as session:
        revoke_elsewhere(session, key)
    # Within the time the worker still trusts the key it checked a moment ago ...
    now[0] += 4
    assert status(app, key) == 200
    now[0] += 1
    # ... and after it, reads the key again and refuses it.
    assert status(app, key) == 401


def test_a_key_refused_once_is_not_remembered_as_refused(make_app: MakeApp) -> None:
    app = make_app(60)
    key, prefix = new_key()
    assert status(app, key) == 401
    with app.extensions["cehours"].sessions() as session, session.begin():
        session.add(
            Client(
                name="registered late",
                role="filing",
                key_hash=hash_key(key),
                key_prefix=prefix,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    assert status(app, key) == 200
