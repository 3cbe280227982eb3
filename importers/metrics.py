"""Prometheus metrics of syncs: runs by outcome, failures, and records by result.

The scheduler process serves them itself (``CEHOURS_SCHEDULER_METRICS_BIND``): it is not a web
process, and its counters would be lost in the API's. Labels are source ids and fixed words,
never personal data.
"""

from __future__ import annotations

from prometheus_client import Counter, start_http_server

SYNC_RUNS = Counter(
    "cehours_sync_runs_total",
    "Sync runs, by source and outcome (succeeded, failed, busy: another process held the "
    "lease, error: the run could not start, unavailable: the database could not serve).",
    ["source", "outcome"],
)
SYNC_FAILURES = Counter(
    "cehours_sync_failures_total",
    "Sync runs that failed or could not start, by source.",
    ["source"],
)
SYNC_RECORDS = Counter(
    "cehours_sync_records_total",
    "Records a sync appended or judged, by source and result "
    "(fetched, created, superseded, rejected).",
    ["source", "result"],
)


def count_run(source_id: str, outcome: str, counts: dict[str, int] | None = None) -> None:
    """Count one sync's outcome and, when it ran, its records."""
    SYNC_RUNS.labels(source_id, outcome).inc()
    if outcome in ("failed", "error", "unavailable"):
        SYNC_FAILURES.labels(source_id).inc()
    for result, n in (counts or {}).items():
        if n:
            SYNC_RECORDS.labels(source_id, result).inc(n)


def serve_metrics(bind: str) -> None:
    """Serve ``/metrics`` on ``HOST:PORT`` from a daemon thread.

    Raises:
        ValueError: ``bind`` is not ``HOST:PORT``.
    """
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {bind!r}")
    start_http_server(int(port), addr=host)
