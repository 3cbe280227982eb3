"""The log's cost: append rate with the log on vs off, and inclusion proofs at 10,000,000 leaves.

    .venv/bin/python bench/log.py [--records 40000] [--leaves 10000000]
        [--backends sqlite,postgresql] [--proof-backends sqlite]

1. **Appends, log on vs off, in the same run.** Two fresh databases; the same records are
   appended to both in batches of 500, alternating rounds between them so that the machine's
   load falls on both alike. "On" has the log publisher running beside the appends, as a server
   worker runs it (``api.log_publisher``: integrate new entries, sign a checkpoint when the
   tree grew, every two seconds), in the same process, so its CPU and its locks weigh on the
   appends. Only the appends are timed. At the end the publisher must have caught up: every
   entry a leaf, ``ledger verify``'s log check clean. Target: on >= 85% of off.
2. **Inclusion proofs at 10,000,000 leaves**, in-process (``ledger.log.proofs.prove_inclusion``
   for a random entry): the tree's stored nodes are built synthetically (leaf hashes of fake
   chain hashes, every perfect node above them, written straight into ``log_leaves``,
   ``log_nodes`` and ``log_heads``), since appending 10 million real entries here would take
   hours; the proofs read the very tables and code a real log uses. Target: p99 < 5 ms.
   SQLite only by default (``--proof-backends`` adds PostgreSQL).
3. Checkpoint signing is on no append's path: it happens in the publisher's rounds only (the
   count of checkpoints it signed during part 1 is printed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import os
import random
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa

from api.log_publisher import DEFAULT_INTERVAL, LogPublisher
from bench._common import fresh_database, generate_records, postgres_available
from ledger.attestations import key_encryption
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.sources import add_source
from ledger.log import checkpoints
from ledger.log.audit import verify_log
from ledger.log.merkle import Node, leaf_hash, range_nodes
from ledger.log.proofs import prove_inclusion
from ledger.log.tables import LogCheckpoint
from ledger.log.tree import grow

BATCH = 500
ROUND = 5_000  # records appended to one database before switching to the other


def analyze(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def append_rates(kind: str, records: int) -> None:
    os.environ.setdefault(key_encryption.KEK_ENV, key_encryption.new_kek_text())
    kek = key_encryption.load_kek()
    data = list(generate_records(records, records // 5))
    # The generated records live as long as the run, as a server's loaded modules do: frozen,
    # as a server worker freezes what it loaded (api.cli.server), so that the collections
    # both modes' garbage triggers do not traverse them (a server never holds them at all).
    gc.collect()
    gc.freeze()
    engines, factories = {}, {}
    for mode in ("off", "on"):
        url = fresh_database(kind, f"cehours_bench_log_{mode}")
        engines[mode] = make_engine(url, pool_size=4)
        factories[mode] = make_session_factory(engines[mode])
        with factories[mode]() as session:
            add_source(session, "bench", kind="city", region_code="330800", display_name="bench")
    with factories["on"]() as session:
        checkpoints.create_log_key(session, kek, actor="bench")
    publisher = LogPublisher(factories["on"], DEFAULT_INTERVAL, None)
    publisher.start()
    elapsed = {"off": 0.0, "on": 0.0}
    sessions = {mode: factories[mode]() for mode in elapsed}
    try:
        for start in range(0, len(data), ROUND):
            chunk = data[start : start + ROUND]
            for mode in ("off", "on") if (start // ROUND) % 2 == 0 else ("on", "off"):
                if start % 20_000 == 0:
                    analyze(engines[mode])
                for i in range(0, len(chunk), BATCH):
                    began = time.perf_counter()
                    results = append_records(
                        sessions[mode], "bench", chunk[i : i + BATCH], actor="bench"
                    )
                    elapsed[mode] += time.perf_counter() - began
                    assert all(r.status == "created" for r in results)
        caught_up = time.perf_counter()
        publisher.stop()
        publisher.join()
        publisher.round()  # the last entries, once
        catch_up = time.perf_counter() - caught_up
    finally:
        for s in sessions.values():
            s.close()
    with factories["on"]() as session:
        report = verify_log(session)
        with session.begin():
            signed = session.scalar(sa.select(sa.func.count()).select_from(LogCheckpoint))
    assert report.ok, report.problems[:3]
    assert report.leaves == records, report.leaves
    off, on = records / elapsed["off"], records / elapsed["on"]
    print(f"[{kind}] append, log off        : {off:10.0f} records/s  ({records} records)")
    print(
        f"[{kind}] append, log on         : {on:10.0f} records/s"
        f"  (publisher every {DEFAULT_INTERVAL:.0f} s)"
    )
    print(f"[{kind}] ratio on/off           : {on / off:10.1%}   (target >= 85%)")
    print(
        f"[{kind}] publisher: {signed} checkpoints signed during the run, none by an append;"
        f" caught up {catch_up * 1000:.0f} ms after the last append; log verified"
        f" ({report.leaves} leaves)"
    )
    for engine in engines.values():
        engine.dispose()


def build_synthetic_tree(engine: sa.Engine, leaves: int) -> None:
    """Write a tree of ``leaves`` leaves straight into the log tables (leaf i is entry i + 1,
    whose chain hash is SHA-256 of i): leaves, every perfect node (grown a chunk at a time by
    the log's own ``ledger.log.tree.grow``), one head."""
    started = time.perf_counter()
    marks = "?" if engine.dialect.name == "sqlite" else "%s"
    frontier: list[bytes] = []
    size, step, root = 0, 200_000, b""
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        while size < leaves:
            n = min(step, leaves - size)
            chunk = [
                leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest())
                for i in range(size, size + n)
            ]
            grown = grow(frontier, size, chunk)
            cursor.executemany(
                f"INSERT INTO log_leaves (leaf_index, entry_id) VALUES ({marks}, {marks})",
                [(j, j + 1) for j in range(size, size + n)],
            )
            cursor.executemany(
                f"INSERT INTO log_nodes (level, idx, hash) VALUES ({marks}, {marks}, {marks})",
                grown.nodes,
            )
            known = dict(zip(range_nodes(0, size), frontier, strict=True))
            known.update({Node(lv, ix): h for lv, ix, h in grown.nodes})
            size += n
            frontier = [known[node] for node in range_nodes(0, size)]
            root = grown.root
        cursor.execute(
            f"INSERT INTO log_heads (tree_size, root_hash, last_entry_id, integrated_at)"
            f" VALUES ({marks}, {marks}, {marks}, {marks})",
            (leaves, root, leaves, dt.datetime.now(dt.UTC).isoformat(" ")),
        )
    print(f"  built {leaves:,} leaves and their nodes in {time.perf_counter() - started:.0f} s")


def proof_latency(kind: str, leaves: int, rounds: int) -> None:
    url = fresh_database(kind, "cehours_bench_log_proofs")
    engine = make_engine(url)
    build_synthetic_tree(engine, leaves)
    analyze(engine)
    print_proof_latency(kind, make_session_factory(engine), leaves, rounds)
    engine.dispose()


def print_proof_latency(kind: str, factory: Any, leaves: int, rounds: int) -> None:
    """Wall-clock p50/p99 of random inclusion proofs, and this process's CPU time for each (on
    a shared, loaded machine the wall clock also counts the time other processes had the CPU)."""
    rng = random.Random(17)
    wall, cpu = [], []
    with factory() as session:
        for _ in range(rounds):
            entry = rng.randrange(1, leaves + 1)
            began, began_cpu = time.perf_counter(), time.process_time()
            proof = prove_inclusion(session, entry, leaves)
            wall.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
            assert proof.leaf_index == entry - 1
    for samples in (wall, cpu):
        samples.sort()
    p99 = int(len(wall) * 0.99) - 1
    print(
        f"[{kind}] inclusion proof at {leaves:,} leaves: p50 {statistics.median(wall):.3f} ms,"
        f" p99 {wall[p99]:.3f} ms wall; CPU p50 {statistics.median(cpu):.3f} ms,"
        f" p99 {cpu[p99]:.3f} ms   (target p99 < 5 ms; {len(proof.hashes)} hashes a proof,"
        f" {rounds} proofs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=40_000)
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--proof-backends", default="sqlite")
    parser.add_argument(
        "--proof-database", help="measure proofs on a log built before (a database URL)"
    )
    args = parser.parse_args()
    for kind in filter(None, args.backends.split(",")):
        if kind == "postgresql" and not postgres_available():
            print("[postgresql] not reachable; skipped")
            continue
        append_rates(kind, args.records)
    if args.proof_database:
        engine = make_engine(args.proof_database)
        print_proof_latency("given", make_session_factory(engine), args.leaves, args.proofs)
        engine.dispose()
        return
    for kind in filter(None, args.proof_backends.split(",")):
        if kind == "postgresql" and not postgres_available():
            continue
        proof_latency(kind, args.leaves, args.proofs)


if __name__ == "__main__":
    main()
