"""Read-heavy load with one streaming replica beside the primary, against the primary alone.

    .venv/bin/python bench/replica.py [--people 2000] [--entries-each 20] [--requests 4000]
                                      [--workers 2] [--threads 4] [--clients 8] [--rounds 1]

Makes its own PostgreSQL 15 primary and streaming replica (tests/pg_servers.py: ``initdb``,
``pg_basebackup -R``, ports 5446 and 5447, run as ``postgres`` when root), builds a ledger of
``--people`` people with ``--entries-each`` entries each through ``append_records``, then in the
same run serves the same read load with ``cehours serve`` twice per round: once on the primary
alone, once with ``CEHOURS_READ_DATABASE_URL`` naming the replica. The load is transcripts
(``GET /v1/people/{id}/transcript``) and evaluations (``POST /v1/compliance``, answer cache off,
so every request evaluates), half each, for random people, from ``--clients`` processes.

Reported per run: the rate, and the CPU each read cost the primary cluster and the replica
cluster (from /proc: the postmaster, its live children, and its reaped children), beside the
server's and the machine's. On this 2-core machine every process shares the same CPUs, so the
rate says little about a province's servers; the primary's CPU per read is what a replica saves.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import CpuMeter, generate_records, start_server, stop_server
from ledger.access.clients import create_client
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.people import find_person_id
from ledger.entries.sources import add_source
from ledger.schema import upgrade_database
from tests.pg_servers import Cluster, make_primary, make_replica, owned_tmpdir, wait_replayed

PRIMARY_PORT, REPLICA_PORT = 5446, 5447
PROFILE = "quzhou-annual-90"


def cluster_cpu_seconds(cluster: Cluster) -> float:
    """CPU seconds the cluster's processes used so far: the postmaster (with the children it
    reaped: backends that ended) and every live child of it."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                values = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(name), int(values[1])
        if pid == postmaster:
            total += sum(int(v) for v in values[11:15]) / tick  # utime stime cutime cstime
        elif parent == postmaster:
            total += (int(values[11]) + int(values[12])) / tick
    return total


def build_ledger(url: str, people: int, each: int) -> tuple[str, list[str]]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        add_source(session, "bench", kind="city", region_code="330802", display_name="bench")
        _, key = create_client(session, name="bench filing", role="filing")
        batch: list[dict[str, Any]] = []
        for raw in generate_records(people * each, people, years=5):
            batch.append(raw)
            if len(batch) == 1000:
                append_records(session, "bench", batch, actor="bench")
                batch = []
        if batch:
            append_records(session, "bench", batch, actor="bench")
        ids = [
            find_person_id(session, raw["id_number"])
            for raw in generate_records(people, people, years=1)
        ]
    engine.dispose()
    return key, ids


def _reads(job: tuple[str, str, list[str], int, int]) -> int:
    base, key, people, n, seed = job
    rng = random.Random(seed)
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {key}"
        for i in range(n):
            person = rng.choice(people)
            if i % 2:
                response = http.get(f"{base}/v1/people/{person}/transcript", timeout=30)
            else:
                body = {"person_id": person, "profile": PROFILE, "as_of": "2024-12-31"}
                response = http.post(f"{base}/v1/compliance", json=body, timeout=30)
            if response.status_code != 200:
                raise SystemExit(f"read failed: {response.status_code} {response.text[:300]}")
    return n


def serve_and_measure(
    env: dict[str, str],
    key: str,
    people: list[str],
    args: argparse.Namespace,
    primary: Cluster,
    replica: Cluster,
) -> dict[str, float]:
    server, base = start_server(env, workers=args.workers, threads=args.threads)
    per = max(1, args.requests // args.clients)
    try:
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            warm = [(base, key, people, 20, 1000 + c) for c in range(args.clients)]
            pool.map(_reads, warm)
            jobs = [(base, key, people, per, c) for c in range(args.clients)]
            meter = CpuMeter(server.pid)
            p0, r0 = cluster_cpu_seconds(primary), cluster_cpu_seconds(replica)
            started = time.perf_counter()
            done = sum(pool.map(_reads, jobs))
            elapsed = time.perf_counter() - started
            p1, r1 = cluster_cpu_seconds(primary), cluster_cpu_seconds(replica)
            split = meter.per_request(done)
    finally:
        stop_server(server)
    return {
        "rate": done / elapsed,
        "primary": (p1 - p0) / done * 1000,
        "replica": (r1 - r0) / done * 1000,
        "server": split.get("server", 0.0),
        "machine": split.get("machine", 0.0),
    }


def line(label: str, m: dict[str, float]) -> str:
    return (
        f"  {label:<26} {m['rate']:7.0f} reads/s   CPU a read: primary {m['primary']:.3f} ms,"
        f" replica {m['replica']:.3f} ms, server {m['server']:.2f} ms,"
        f" machine {m['machine']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--entries-each", type=int, default=20)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    base_dir = owned_tmpdir("cehours-bench-replica-")
    primary = replica = None
    try:
        primary, _ = make_primary(base_dir, PRIMARY_PORT)
        primary.sql("CREATE DATABASE cehours")
        url = primary.url("cehours")
        upgrade_database(url)
        started = time.perf_counter()
        key, people = build_ledger(url, args.people, args.entries_each)
        print(
            f"ledger: {args.people * args.entries_each:,} entries for {args.people:,} people"
            f" in {time.perf_counter() - started:.0f} s"
        )
        replica = make_replica(primary, base_dir, REPLICA_PORT)
        wait_replayed(primary, replica)
        primary.sql("VACUUM ANALYZE", "cehours")
        wait_replayed(primary, replica)
        common = {"CEHOURS_DATABASE_URL": url, "CEHOURS_COMPLIANCE_CACHE_SIZE": "0"}
        print(
            f"read load: {args.requests} reads a run (half transcripts, half evaluations),"
            f" cehours serve {args.workers} workers x {args.threads} threads,"
            f" {args.clients} client processes"
        )
        for round_ in range(1, args.rounds + 1):
            alone = serve_and_measure(common, key, people, args, primary, replica)
            beside = serve_and_measure(
                {**common, "CEHOURS_READ_DATABASE_URL": replica.url("cehours")},
                key,
                people,
                args,
                primary,
                replica,
            )
            print(f"round {round_}:")
            print(line("primary alone", alone))
            print(line("one replica beside it", beside))
            saved = 1 - beside["primary"] / alone["primary"] if alone["primary"] else 0.0
            print(
                f"  primary CPU a read saved: {saved:.0%}"
                f" ({alone['primary']:.3f} -> {beside['primary']:.3f} ms);"
                f" rate {beside['rate'] / alone['rate']:.2f}x (both clusters share 2 cores)"
            )
    finally:
        for cluster in (replica, primary):
            if cluster is not None and cluster.running():
                cluster.stop("fast")
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
