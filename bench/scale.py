"""How the ledger behaves as it grows on PostgreSQL: ingest rate, storage, read latency, verify.

    .venv/bin/python bench/scale.py [--entries 1000000] [--per-person 30 | --people N]
                                    [--backend postgresql] [--resume]
                                    [--database NAME] [--verify-up-to N]

Grows one database through ``ledger.entries.append.append_records`` (batches of 1,000, the honest
path) to ``--entries``, with ``--per-person`` entries per person over five years. At 10k, 100k,
1M, 2M, 3M, 5M and 10M entries (those not above the target) it prints: the append rate of the
last segment and its ratio to a raw ``executemany`` insert of the same rows measured at the
start of the same run; table and index sizes and bytes per entry; ``get_person_totals`` and
``evaluate`` latency for one person (p50/p99); and, up to 3M entries, the time
``verify_ledger`` takes for the whole ledger. ``--resume --people 33333 --entries 3000000``
grows the previous run's database further with the same sequence of records. The output is
what ``docs/scaling.md`` quotes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa

from bench._common import (
    PG_ADMIN_URL,
    fresh_database,
    generate_records,
    raw_insert_rate,
    raw_rows,
)
from ledger.compliance.catalogue import get_profile
from ledger.compliance.evaluation import evaluate
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.audit import verify_ledger
from ledger.entries.partitions import ensure_partitions
from ledger.entries.people import get_person_totals
from ledger.entries.sources import add_source

BATCH = 1000
STAGES = (10_000, 100_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000)
VERIFY_UP_TO = 3_000_000
DATABASE = "cehours_bench_scale"
ANALYZE_EVERY = 50_000
TABLES = ("entries", "people", "records", "balances")


def _timed(fn: Callable[[], Any], rounds: int) -> tuple[float, float]:
    for _ in range(min(20, rounds)):
        fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _analyze(engine: sa.Engine) -> None:
    # Autovacuum's job, done by hand: the test server here runs with autovacuum off, and with
    # statistics that never catch up the planner looks records up by source alone (a scan of
    # the source's records per batch), which makes ingest quadratic. Production keeps
    # autovacuum on; see docs/scaling.md.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))


def _sizes(engine: sa.Engine) -> list[str]:
    lines = []
    total = 0
    with engine.connect() as conn:
        entries = conn.execute(sa.text("SELECT count(*) FROM entries")).scalar_one()
        for table in TABLES:
            # Summed over the partitions (a partitioned table's own size is 0).
            heap, indexes = conn.execute(
                sa.text(
                    "SELECT sum(pg_table_size(r)), sum(pg_indexes_size(r)) FROM"
                    " (SELECT relid AS r FROM pg_partition_tree(CAST(:t AS regclass))"
                    "  UNION SELECT CAST(:t AS regclass)) AS tree"
                ),
                {"t": table},
            ).one()
            rows = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            total += heap + indexes
            lines.append(
                f"    {table:<9} {rows:>11,} rows  table {heap / 2**20:9.1f} MiB"
                f"  indexes {indexes / 2**20:9.1f} MiB"
            )
        parts = conn.execute(
            sa.text("SELECT count(*) FROM pg_partition_tree('entries') WHERE isleaf")
        ).scalar_one()
    lines.append(
        f"    total {total / 2**20:,.1f} MiB = {total / max(entries, 1):,.0f} bytes per entry"
        f"  (entries in {parts} partition{'s' if parts != 1 else ''})"
    )
    return lines


def _latency(url: str, person_id: str) -> list[str]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    profile = get_profile("quzhou-2020-intermediate")
    lines = []
    with sessions() as session:
        p50, p99 = _timed(lambda: get_person_totals(session, person_id), 300)
        lines.append(f"    get_person_totals            p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
        for explain in (True, False):
            p50, p99 = _timed(
                lambda e=explain: evaluate(
                    session, person_id, profile, dt.date(2020, 12, 31), explain=e
                ),
                300,
            )
            label = "evaluate (with entries)" if explain else "evaluate (from balances)"
            lines.append(f"    {label:<24} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    engine.dispose()
    return lines


def run(
    kind: str,
    target: int,
    people: int,
    resume: bool,
    database: str = DATABASE,
    verify_up_to: int = VERIFY_UP_TO,
) -> None:
    if resume:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    else:
        url = fresh_database(kind, database, keep=True)
    print(f"backend={kind} target={target:,} entries, {people:,} people, batches of {BATCH}")
    sample = list(generate_records(100_000, people))
    raw = raw_insert_rate(url, raw_rows(sample), BATCH)
    print(f"raw executemany insert baseline: {raw:,.0f} rows/s (100,000 rows)", flush=True)

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    built = 0
    probe: str | None = None
    if resume:
        with engine.connect() as conn:
            built = conn.execute(sa.text("SELECT count(*) FROM entries")).scalar_one()
            probe = conn.execute(
                sa.text("SELECT person_id FROM entries ORDER BY id LIMIT 1")
            ).scalar_one()
        print(f"resuming at {built:,} entries", flush=True)
    else:
        with sessions() as session:
            add_source(session, "bench", kind="city", region_code="330800", display_name="bench")
        if kind == "postgresql":
            # What an operator does before loading history: a partition for every year it has
            # (generate_records spreads completions over 2020-2024).
            with sessions() as session:
                made = ensure_partitions(session, first_year=2020)
            print(f"partitions created: {', '.join(made) or 'none'}", flush=True)
    # The same sequence as a fresh run, picked up where the ledger stands.
    records: Iterator[dict[str, Any]] = itertools.islice(
        generate_records(target, people), built, None
    )
    run_started = time.perf_counter()
    for stage in [s for s in STAGES if built < s <= target] or [target]:
        started = time.perf_counter()
        segment = stage - built
        with sessions() as session:
            while built < stage:
                batch = [next(records) for _ in range(min(BATCH, stage - built))]
                results = append_records(session, "bench", batch, actor="bench")
                if probe is None:
                    probe = results[0].person_id
                built += len(batch)
                if kind == "postgresql" and built % ANALYZE_EVERY == 0:
                    _analyze(engine)
        elapsed = time.perf_counter() - started
        rate = segment / elapsed
        print(
            f"\n== {stage:,} entries (segment of {segment:,} in {elapsed:,.1f} s:"
            f" {rate:,.0f} records/s = {rate / raw:.0%} of raw; total build"
            f" {time.perf_counter() - run_started:,.0f} s)",
            flush=True,
        )
        if kind == "postgresql":
            _analyze(engine)
            for line in _sizes(engine):
                print(line)
        assert probe is not None
        for line in _latency(url, probe):
            print(line, flush=True)
        if stage <= verify_up_to:
            started = time.perf_counter()
            with sessions() as session:
                report = verify_ledger(session)
            took = time.perf_counter() - started
            print(
                f"    verify_ledger {report.entries:,} entries in {took:,.1f} s"
                f" ({report.entries / took:,.0f} entries/s): {'OK' if report.ok else 'FAIL'}",
                flush=True,
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--per-person", type=int, default=30, help="entries per person")
    parser.add_argument("--people", type=int, default=None, help="instead of --per-person")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument(
        "--resume", action="store_true", help="grow the last run's database further (postgresql)"
    )
    parser.add_argument(
        "--database", default=DATABASE, help="PostgreSQL database to build (kept) or resume"
    )
    parser.add_argument(
        "--verify-up-to",
        type=int,
        default=VERIFY_UP_TO,
        help="time verify_ledger at the stages up to this size",
    )
    args = parser.parse_args()
    people = args.people or max(1, args.entries // args.per_person)
    run(args.backend, args.entries, people, args.resume, args.database, args.verify_up_to)


if __name__ == "__main__":
    main()
