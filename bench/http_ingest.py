"""HTTP ingest rate through the real server vs a raw executemany insert of the same rows.

    .venv/bin/python bench/http_ingest.py [--records 100000] [--workers 4] [--clients 4]

For each backend (SQLite, PostgreSQL): starts ``cehours serve`` (gunicorn, the same number of
workers every time) on loopback, posts the records in batches of 500 from a few concurrent
clients with a platform key, then measures the raw insert rate of the same rows (the entry rows
the ledger now holds, into a plain table: the ledger benchmark's baseline). Prints both rates and
their ratio (target: HTTP >= 15% of raw). ``--direct`` also times ``append_records`` called
in-process on another fresh database, to tell the HTTP layer's cost from the ledger's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import (
    fresh_database,
    generate_records,
    ledger_rows,
    postgres_available,
    raw_entry_insert_rate,
    start_server,
    stop_server,
)
from ledger.access.clients import create_client
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.sources import add_source

BATCH = 500


def _post_all(base: str, key: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Post every body from ``clients`` threads; return (seconds, records created)."""
    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    created = [0] * clients
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def client(n: int) -> None:
        with requests.Session() as session:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                response = session.post(
                    f"{base}/v1/records", data=body, headers=headers, timeout=120
                )
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                created[n] += response.json()["counts"]["created"]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"requests failed: {errors[:3]}")
    return elapsed, sum(created)


def direct_rate(kind: str, data: list[dict[str, object]]) -> float:
    """Records per second through ``append_records`` in-process, one batch after another."""
    url = fresh_database(kind, "cehours_bench_http_direct")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        add_source(session, "bench", kind="city", region_code="330800", display_name="bench")
        started = time.perf_counter()
        with Autoanalyze(url) if kind == "postgresql" else contextlib.nullcontext():
            for i in range(0, len(data), BATCH):
                append_records(session, "bench", data[i : i + BATCH], actor="bench")
        elapsed = time.perf_counter() - started
    engine.dispose()
    return len(data) / elapsed


class Autoanalyze:
    """ANALYZE every few seconds while the load runs, when the PostgreSQL server's autovacuum is
    off (as on a test instance): without statistics on the growing tables the planner keeps
    treating them as empty, and per-batch lookups turn into scans. A production server's
    autovacuum does the same job."""

    def __init__(self, url: str, every: float = 5.0) -> None:
        self.engine = make_engine(url, isolation_level="AUTOCOMMIT")
        self.every = every
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Autoanalyze:
        with self.engine.connect() as conn:
            on = conn.exec_driver_sql("SHOW autovacuum").scalar() == "on"
        if not on:
            print("[postgresql] autovacuum is off on this server: ANALYZE runs every 5 s instead")
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.wait(self.every):
            with self.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        self.engine.dispose()


def run(kind: str, records: int, people: int, workers: int, clients: int, direct: bool) -> float:
    url = fresh_database(kind, "cehours_bench_http")
    data = list(generate_records(records, people))

    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        add_source(session, "bench", kind="city", region_code="330800", display_name="bench")
        _, key = create_client(session, name="bench", role="platform", source_id="bench")
    engine.dispose()
    bodies = [
        json.dumps({"records": data[i : i + BATCH]}, ensure_ascii=False).encode()
        for i in range(0, len(data), BATCH)
    ]

    log = Path(tempfile.mkdtemp(prefix="cehours-bench-")) / "server.log"
    process, base = start_server({"CEHOURS_DATABASE_URL": url}, workers=workers, threads=4, log=log)
    try:
        with Autoanalyze(url) if kind == "postgresql" else contextlib.nullcontext():
            elapsed, created = _post_all(base, key, bodies, clients)
    finally:
        stop_server(process)
    if created != len(data):
        raise SystemExit(f"[{kind}] only {created} of {len(data)} records were created")
    ours = len(data) / elapsed
    raw = raw_entry_insert_rate(url, ledger_rows(url), BATCH)
    print(f"[{kind}] raw executemany insert : {raw:10.0f} rows/s")
    print(
        f"[{kind}] HTTP POST /v1/records    : {ours:10.0f} records/s  ({len(data)} records, "
        f"batches of {BATCH}, {clients} clients, {workers} workers)"
    )
    print(f"[{kind}] ratio HTTP/raw           : {ours / raw:10.1%}   (target >= 15%)")
    if direct:
        alone = direct_rate(kind, data)
        print(f"[{kind}] append_records in-process: {alone:10.0f} records/s  (one caller)")
        print(f"[{kind}] ratio HTTP/in-process    : {ours / alone:10.1%}")
    return ours / raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (every run)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--direct", action="store_true", help="also time append_records in-process")
    args = parser.parse_args()
    for kind in args.backends.split(","):
        if kind == "postgresql" and not postgres_available():
            print("[postgresql] not reachable; skipped")
            continue
        run(kind, args.records, args.people, args.workers, args.clients, args.direct)


if __name__ == "__main__":
    main()
