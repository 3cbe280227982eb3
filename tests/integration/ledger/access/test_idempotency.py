"""Stored responses for Idempotency-Key: the first one stands; an expired one is replaced."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ledger.access.clients import create_client
from ledger.access.idempotency import find_response, store_response

DAY = dt.timedelta(days=1)


def test_the_first_stored_response_stands_for_a_second_writer(app_session: Session) -> None:
    client, _ = create_client(app_session, name="f", role="filing")
    first = store_response(
        app_session, client.id, "k", fingerprint="a" * 64, status_code=200, body="1", max_age=DAY
    )
    second = store_response(
        app_session, client.id, "k", fingerprint="b" * 64, status_code=200, body="2", max_age=DAY
    )
    assert second.body == first.body == "1"
    assert second.fingerprint == "a" * 64


def test_an_expired_response_is_forgotten_and_replaced(app_session: Session) -> None:
    client, _ = create_client(app_session, name="f", role="filing")
    store_response(
        app_session, client.id, "k", fingerprint="a" * 64, status_code=200, body="1", max_age=DAY
    )
    assert find_response(app_session, client.id, "k", max_age=dt.timedelta(0)) is None
    replaced = store_response(
        app_session,
        client.id,
        "k",
        fingerprint="b" * 64,
        status_code=201,
        body="2",
        max_age=dt.timedelta(0),
    )
    assert replaced.body == "2"
    kept = find_response(app_session, client.id, "k", max_age=DAY)
    assert kept is not None
    assert kept.status_code == 201
