"""Ledger append rate vs a raw executemany insert of the same rows, on SQLite and PostgreSQL.

    .venv/bin/python bench/ingest.py [--records 100000] [--people 20000] [--grow-to 1000000]

The raw baseline inserts the very entry rows the ledger wrote into a plain table of the same
columns (no constraints, indexes or triggers), with executemany in batches of the same size.
Prints both rates and their ratio (target: ledger >= 25% of raw), then the latency of reading
one person's yearly totals at 10,000 entries and at the largest size (target: flat).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from sqlalchemy import Engine

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._common import (
    fresh_database,
    generate_records,
    ledger_rows,
    postgres_available,
    raw_entry_insert_rate,
)
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.people import get_person_totals
from ledger.entries.sources import add_source

BATCH = 500


def totals_latency_ms(session_factory, person_id: str, rounds: int = 300) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    with session_factory() as session:
        for _ in range(rounds):
            started = time.perf_counter()
            get_person_totals(session, person_id)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE people, records, entries, balances")


def run(kind: str, records: int, people: int, grow_to: int) -> None:
    url = fresh_database(kind, "cehours_bench_ingest")
    data = list(generate_records(records, people))

    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        add_source(session, "bench", kind="city", region_code="330800", display_name="bench")
    probe_person = None
    small = None
    elapsed = 0.0
    with factory() as session:
        for i in range(0, len(data), BATCH):
            if kind == "postgresql" and i % 10_000 == 0:
                # This server runs with autovacuum off; a real one would have analysed the growing
                # tables by now. Without statistics PostgreSQL scans whole tables for the batch's
                # lookups. Not timed: autovacuum works beside the requests, not in them.
                analyze(engine)
            started = time.perf_counter()
            results = append_records(session, "bench", data[i : i + BATCH], actor="bench")
            elapsed += time.perf_counter() - started
            assert all(r.status == "created" for r in results), results[:3]
            probe_person = probe_person or results[0].person_id
            if small is None and i + BATCH >= 10_000:
                small = totals_latency_ms(factory, probe_person)
    ours = len(data) / elapsed
    raw = raw_entry_insert_rate(url, ledger_rows(url), BATCH)
    print(f"[{kind}] raw executemany insert : {raw:10.0f} rows/s")
    print(f"[{kind}] ledger append_records  : {ours:10.0f} records/s  ({len(data)} records)")
    print(f"[{kind}] ratio ledger/raw        : {ours / raw:10.1%}   (target >= 25%)")

    if grow_to > records:
        offset = records
        with factory() as session:
            while offset < grow_to:
                more = list(generate_records(min(20_000, grow_to - offset), people * 10))
                for rec in more:
                    rec["external_id"] = f"grow-{offset}-{rec['external_id']}"
                for i in range(0, len(more), BATCH):
                    append_records(session, "bench", more[i : i + BATCH], actor="bench")
                offset += len(more)
    large = totals_latency_ms(factory, probe_person or "")
    assert small is not None
    print(
        f"[{kind}] person totals at 10,000 entries: p50 {small[0]:.3f} ms, p99 {small[1]:.3f} ms;"
        f" at {max(grow_to, records):,}: p50 {large[0]:.3f} ms, p99 {large[1]:.3f} ms"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument(
        "--grow-to",
        type=int,
        default=0,
        help="grow the ledger to N entries before the second totals read (e.g. 1000000)",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for kind in args.backends.split(","):
        if kind == "postgresql" and not postgres_available():
            print("[postgresql] not reachable; skipped")
            continue
        run(kind, args.records, args.people, args.grow_to)


if __name__ == "__main__":
    main()
