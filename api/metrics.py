"""Prometheus metrics of the HTTP service, served at ``/metrics``.

Under gunicorn every worker is its own process, so ``cehours serve`` runs prometheus_client's
multi-process mode: it points ``PROMETHEUS_MULTIPROC_DIR`` at an emptied directory before the
workers start (the variable must be set before this module is first imported), each worker
writes its samples there, and ``/metrics`` in any worker adds them all up. Without the variable
(tests, a single process) the default registry is served.

No label ever carries personal data: routes are URL rules (``/v1/people/<person_id>/...``, not
the path), sources are source ids, statuses are fixed words.

Where ``/metrics`` is answered: on a listener of its own when ``METRICS_BIND`` names one (that
listener answers nothing else but the probes), and on the public listener unless
``METRICS_PUBLIC`` is false, which is its default in production.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

from api import settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "cehours_http_requests_total",
    "HTTP requests answered, by method, route (URL rule) and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "cehours_http_request_duration_seconds",
    "Time from the request's arrival in the app to its response, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RECORDS = Counter(
    "cehours_records_total",
    "Records received by POST /v1/records, by source and result status "
    "(created, duplicate, conflict, superseded, rejected).",
    ["source", "status"],
)
REVERSALS = Counter(
    "cehours_reversals_total", "Reversals appended through the API, by source.", ["source"]
)
ATTESTATIONS_ISSUED = Counter(
    "cehours_attestations_issued_total",
    "Attestations issued, by profile and outcome (compliant true/false).",
    ["profile", "compliant"],
)
ATTESTATION_STATUS_CHANGES = Counter(
    "cehours_attestation_status_changes_total",
    "Attestations changing status: revoked by an administrator, or made stale by a "
    "reversal or supersede of an entry they counted.",
    ["status"],
)
DB_POOL_IN_USE = Gauge(
    "cehours_db_pool_connections_in_use",
    "Database connections checked out of the pool now (summed over live workers).",
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "cehours_db_pool_connections_open",
    "Database connections the pool holds open now (summed over live workers).",
    multiprocess_mode="livesum",
)
DB_POOL_LIMIT = Gauge(
    "cehours_db_pool_connections_limit",
    "Most connections the pools may open (pool size plus overflow, summed over live workers).",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKOUTS = Counter(
    "cehours_db_pool_checkouts_total", "Connections checked out of the pool."
)

DB_READS = Counter(
    "cehours_db_reads_total",
    "Reads of read-only views by the server they were sent to: primary, replica1, ... (a read "
    "a replica failed, run again on the primary, counts for both).",
    ["target"],
)
DB_READ_FALLBACKS = Counter(
    "cehours_db_read_fallbacks_total",
    "Replicas passed over for a read, by replica and reason: down, lag, not-replica (promoted), "
    "behind-write (the caller's own write not replayed yet), own-write (its position unknown), "
    "error (failed during the read), not-found (asked again of the primary).",
    ["replica", "reason"],
)
DB_REPLICA_LAG = Gauge(
    "cehours_db_replica_lag_seconds",
    "How far behind its replay the replica was at its last check (0: replayed all received).",
    ["replica"],
    multiprocess_mode="max",
)
DB_REPLICA_LAG_BYTES = Gauge(
    "cehours_db_replica_lag_bytes",
    "Bytes of WAL the replica had still to replay at its last check (with a byte bound set).",
    ["replica"],
    multiprocess_mode="max",
)
DB_REPLICA_UP = Gauge(
    "cehours_db_replica_up",
    "Whether the replica answered its last check as a replica (1) or not (0).",
    ["replica"],
    multiprocess_mode="min",
)

bp = Blueprint("metrics", __name__)
_ON_METRICS_LISTENER = frozenset({"metrics.metrics", "health.healthz", "health.readyz"})


def on_metrics_listener() -> bool:
    """Whether this request came in on the ``METRICS_BIND`` listener (by its port: gunicorn
    gives each request the address of the socket that accepted it, which no header changes)."""
    bind = current_app.config.get("METRICS_BIND")
    if not bind:
        return False
    return request.environ.get("SERVER_PORT") == str(bind).rsplit(":", 1)[-1]


def public_metrics() -> bool:
    """Whether the public listener answers ``/metrics`` (``METRICS_PUBLIC``)."""
    value = current_app.config.get("METRICS_PUBLIC")
    if value is None:
        return not settings.is_production(current_app.config)
    return value is True or str(value).strip().lower() in ("1", "true", "yes")


def keep_metrics_listener_private() -> None:
    """``before_request``: the metrics listener answers ``/metrics`` and the probes only."""
    if on_metrics_listener() and request.endpoint not in _ON_METRICS_LISTENER:
        abort(404)


@bp.route("/metrics")
def metrics() -> Response:
    """The Prometheus text exposition (no credential; no personal data)."""
    if not (on_metrics_listener() or public_metrics()):
        abort(404)
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "(unmatched)"


def start_timer() -> None:
    """``before_request``: note when the request arrived."""
    g.metrics_started = time.perf_counter()


def observe_response(response: Response) -> Response:
    """``after_request``: count the request and its latency by route and status."""
    route = _route()
    if route != "/metrics":
        started = g.get("metrics_started")
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    return response


def count_records(source_id: str, statuses: Iterable[str]) -> None:
    """Count one request's per-record results."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    for status, n in counts.items():
        RECORDS.labels(source_id, status).inc(n)


def count_issued(profile: str, compliant: bool) -> None:
    """Count an attestation issued."""
    ATTESTATIONS_ISSUED.labels(profile, "true" if compliant else "false").inc()


def count_status_change(status: str, n: int = 1) -> None:
    """Count attestations moved to ``status`` (``revoked``, ``stale``)."""
    if n:
        ATTESTATION_STATUS_CHANGES.labels(status).inc(n)


def count_read(target: str) -> None:
    """Count a read-only request answered by ``target`` (``primary``, ``replica1``...)."""
    DB_READS.labels(target).inc()


def count_read_fallback(replica: str, reason: str) -> None:
    """Count a replica passed over for a read, and why."""
    DB_READ_FALLBACKS.labels(replica, reason).inc()


def observe_replica(state: Any) -> None:
    """Follow one measurement of a replica (a ``ledger.db.routing.ReplicaState``)."""
    DB_REPLICA_UP.labels(state.name).set(1 if state.up and state.in_recovery else 0)
    if state.lag_seconds is not None:
        DB_REPLICA_LAG.labels(state.name).set(state.lag_seconds)
    if state.lag_bytes is not None:
        DB_REPLICA_LAG_BYTES.labels(state.name).set(state.lag_bytes)


def instrument_engine(engine: Engine) -> None:
    """Follow the engine's connection pool in the pool gauges."""
    pool: Any = engine.pool
    size = getattr(pool, "size", None)
    limit = size() + max(getattr(pool, "_max_overflow", 0), 0) if callable(size) else 0
    DB_POOL_LIMIT.inc(limit)

    @event.listens_for(engine, "engine_disposed")
    def _disposed(*_: Any) -> None:
        DB_POOL_LIMIT.dec(limit)

    # Each gauge counts a connection once, by a mark on its pool record: after a database
    # fault, SQLAlchemy may check in or close a connection whose checkout or connect a listener
    # did not see (one invalidated on its way out of the pool), and the gauges must not drift.
    @event.listens_for(engine, "connect")
    def _connect(_dbapi: Any, record: Any) -> None:
        record.info["metrics_open"] = True
        DB_POOL_OPEN.inc()

    @event.listens_for(engine, "close")
    def _close(_dbapi: Any, record: Any) -> None:
        if record.info.pop("metrics_open", False):
            DB_POOL_OPEN.dec()

    @event.listens_for(engine, "checkout")
    def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.info["metrics_in_use"] = True
        DB_POOL_IN_USE.inc()
        DB_POOL_CHECKOUTS.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop("metrics_in_use", False):
            DB_POOL_IN_USE.dec()


def init_app(app: Flask) -> None:
    """Serve ``/metrics`` and measure every request of ``app``."""
    app.register_blueprint(bp)
    app.before_request(keep_metrics_listener_private)
    app.before_request(start_timer)
    app.after_request(observe_response)
