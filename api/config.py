"""Configuration of the HTTP API: defaults, then ``CEHOURS_*`` environment variables, then code.

Every setting can be given in the environment with the ``CEHOURS_`` prefix
(``CEHOURS_DATABASE_URL``, ``CEHOURS_MAX_CONTENT_LENGTH=1048576``); values that parse as JSON
are taken as JSON (numbers, booleans), the rest as strings. ``DATABASE_URL`` without the prefix
is honoured too, as hosting platforms set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from ledger.db.engine import database_url

ENV_PREFIX = "CEHOURS"

DEFAULTS: dict[str, Any] = {
    # flask-smorest: the document is served at /openapi.json; /docs is our own page.
    "API_TITLE": "cehours",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    # A full batch of 1,000 records is well under 1 MiB; anything far bigger is refused (413).
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    # How long a response is kept for replay under its Idempotency-Key, and the largest kept.
    "IDEMPOTENCY_TTL_SECONDS": 24 * 3600,
    "IDEMPOTENCY_MAX_STORED_BYTES": 1024 * 1024,
    # How long a request waits for a lock another writer holds before it answers 503.
    "DB_LOCK_TIMEOUT_SECONDS": 15,
    # PostgreSQL: the longest one statement of a request may run (lock waits included) before
    # it is cancelled and answered 503; well under gunicorn's worker timeout (120 s).
    "DB_STATEMENT_TIMEOUT_SECONDS": 30,
    # /metrics: on a listener of its own (HOST:PORT, `cehours serve` opens it), and whether the
    # public listener answers it too (None: yes, except in production).
    "METRICS_BIND": None,
    "METRICS_PUBLIC": None,
    # Engine options for SQLAlchemy (e.g. {"pool_size": 10}); JSON in the environment.
    "ENGINE_OPTIONS": {},
    # Development conveniences (`cehours serve --dev`); never on in production.
    "DEV": False,
    # Seconds between rounds of each worker's log publisher (integrate, sign); 0: off.
    "LOG_INTERVAL_SECONDS": 2,
    "DATABASE_URL": None,
    # Streaming replicas for read-only work (comma-separated URLs; api/reads.py), how far
    # behind one may be and still answer, how often each is measured, and how long a caller's
    # reads wait for its own last write to be replayed.
    "READ_DATABASE_URL": None,
    "READ_MAX_LAG_SECONDS": 5,
    "READ_MAX_LAG_BYTES": None,
    "READ_CHECK_SECONDS": 1,
    "READ_YOUR_WRITES_SECONDS": 30,
    # Connections go through PgBouncer in transaction mode (see ledger.db.engine.make_engine).
    "DB_TRANSACTION_POOLER": False,
}


def configure(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config``: defaults, then the environment, then ``overrides``."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env(ENV_PREFIX)
    if overrides:
        app.config.update(overrides)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = database_url()
