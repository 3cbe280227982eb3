"""Bounds at the API: what an idempotency key keeps, and where ``/metrics`` is answered."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import record
from tests.integration.api.conftest import bearer


def test_an_answer_over_the_stored_size_is_answered_but_not_kept(
    app: Flask, http: FlaskClient, platform_key: str, app_session: Session
) -> None:
    app.config["IDEMPOTENCY_MAX_STORED_BYTES"] = 100
    headers = bearer(platform_key, **{"Idempotency-Key": "big-answer"})
    batch = {"records": [record("b1"), record("b2")]}
    first = http.post("/v1/records", json=batch, headers=headers)
    assert first.status_code == 200
    assert len(first.get_data()) > 100
    assert [r["status"] for r in first.get_json()["results"]] == ["created", "created"]
    with app_session.begin():
        assert app_session.scalar(sa.text("SELECT count(*) FROM idempotency_keys")) == 0
    # Not kept, so a retry runs again: nothing is appended twice.
    again = http.post("/v1/records", json=batch, headers=headers)
    assert "Idempotent-Replayed" not in again.headers
    assert [r["status"] for r in again.get_json()["results"]] == ["duplicate", "duplicate"]


def test_an_answer_within_the_stored_size_is_replayed(http: FlaskClient, platform_key: str) -> None:
    headers = bearer(platform_key, **{"Idempotency-Key": "small-answer"})
    batch = {"records": [record("s1")]}
    first = http.post("/v1/records", json=batch, headers=headers)
    again = http.post("/v1/records", json=batch, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()


def test_metrics_on_a_listener_of_their_own_and_off_the_public_one(app: Flask) -> None:
    http = app.test_client()
    assert http.get("/metrics").status_code == 200  # outside production: public by default
    app.config.update(METRICS_BIND="127.0.0.1:9464", METRICS_PUBLIC=False)
    public = http.get("/metrics")
    assert public.status_code == 404
    assert public.content_type == "application/problem+json"
    private = http.get("/metrics", base_url="http://127.0.0.1:9464")
    assert private.status_code == 200
    assert http.get("/readyz", base_url="http://127.0.0.1:9464").status_code == 200
    assert http.get("/v1/profiles", base_url="http://127.0.0.1:9464").status_code == 404


def test_production_keeps_metrics_off_the_public_listener_by_default(app: Flask) -> None:
    app.config["ENV"] = "production"
    assert app.test_client().get("/metrics").status_code == 404
    app.config["METRICS_PUBLIC"] = "true"
    assert app.test_client().get("/metrics").status_code == 200
