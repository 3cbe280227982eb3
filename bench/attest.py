"""Attestations over HTTP: issuance rate vs the trivial endpoint, and offline verification rate.

    .venv/bin/python bench/attest.py [--count 10000] [--people 1000] [--backend postgresql]
                                     [--workers 2] [--threads 8] [--clients 8] [--rounds 5]

Starts ``cehours serve`` (gunicorn) on 127.0.0.1 on a fresh migrated database with an
active Ed25519 key and a filing client, then, in the same run and with the same client pool:
``GET /healthz`` ``count`` times (the baseline), ``POST /v1/attestations`` ``count`` times
(spread over ``people`` people with hours), and verifies every token offline against the JWKS
fetched from the server (signature, claims, ID binding). Prints issuance/s, verification/s
and issuance as a share of the trivial rate (target: at least 40%), and the CPU a request cost
the server, PostgreSQL, the clients and the whole machine.

The two are measured in alternating rounds (``rounds`` of each, ``count / rounds`` requests a
round), so that whatever else the machine is doing weighs on both alike; the rates are over
all rounds, and the spread of the per-round ratios is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    CpuMeter,
    format_cpu,
    fresh_database,
    generate_records,
    postgres_available,
    start_server,
    stop_server,
)
from ledger.access.clients import create_client
from ledger.attestations import key_encryption, signing_keys
from ledger.attestations.verification import verify_token
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.sources import add_source
from ledger.values.id_numbers import make_id_number

ISSUER = "https://cehours.bench/"
PROFILE = "quzhou-2020-intermediate"
AS_OF = "2021-12-31"


def id_number_of(person: int) -> str:
    import datetime as dt

    born = dt.date(1960, 1, 1) + dt.timedelta(days=person // 1000)
    return make_id_number("330802", born, person % 1000)


def seed(url: str, people: int) -> tuple[str, str]:
    """Hours for ``people`` people (about 12 records each), a signing key and a filing key."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        add_source(session, "bench", kind="city", region_code="330800", display_name="bench")
        records = list(generate_records(people * 12, people, years=3))
        for i in range(0, len(records), 1000):
            append_records(session, "bench", records[i : i + 1000], actor="bench")
        kek_text = key_encryption.new_kek_text()
        signing_keys.create_key(session, key_encryption.parse_kek(kek_text), actor="bench")
        _, key = create_client(session, name="bench filing", role="filing")
    engine.dispose()
    return kek_text, key


def server_env(url: str, kek_text: str, threads: int) -> dict[str, str]:
    return {
        "CEHOURS_DATABASE_URL": url,
        key_encryption.KEK_ENV: kek_text,
        "CEHOURS_ISSUER": ISSUER,
        # A connection per thread, as docs/configuration.md advises: with the default five,
        # eight threads open and close connections beyond the pool all through the run.
        "CEHOURS_ENGINE_OPTIONS": json.dumps({"pool_size": threads}),
    }


def _healthz(job: tuple[str, int]) -> int:
    base, n = job
    ok = 0
    with requests.Session() as http:
        for _ in range(n):
            ok += http.get(f"{base}/healthz", timeout=30).status_code == 200
    return ok


def _issue(job: tuple[str, str, list[int]]) -> list[tuple[int, str]]:
    base, key, people = job
    out = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {key}"
        for person in people:
            response = http.post(
                f"{base}/v1/attestations",
                json={"id_number": id_number_of(person), "profile": PROFILE, "as_of": AS_OF},
                timeout=30,
            )
            if response.status_code != 201:
                raise SystemExit(f"issuance failed: {response.status_code} {response.text}")
            out.append((person, response.json()["token"]))
    return out


def timed(
    pool: Any, fn: Any, jobs: list[Any], server_pid: int, cpu: dict[str, float]
) -> tuple[float, list[Any]]:
    """Run ``jobs``; return the seconds taken and the results, and add the CPU milliseconds
    they cost each group (server, database, clients, machine) to ``cpu``."""
    started, meter = time.perf_counter(), CpuMeter(server_pid)
    results = pool.map(fn, jobs)
    elapsed = time.perf_counter() - started
    for group, ms in meter.per_request(1).items():
        cpu[group] = cpu.get(group, 0.0) + ms
    return elapsed, results


def run(
    backend: str, count: int, people: int, workers: int, threads: int, clients: int, rounds: int
) -> None:
    url = fresh_database(backend, "bench_attest")
    kek_text, key = seed(url, people)
    server, base = start_server(
        server_env(url, kek_text, threads), workers=workers, threads=threads
    )
    per = count // (clients * rounds)  # requests per client per round
    trivial_s = issue_s = 0.0
    ratios = []
    trivial_cpu: dict[str, float] = {}
    issue_cpu: dict[str, float] = {}
    tokens: list[tuple[int, str]] = []
    try:
        with multiprocessing.get_context("fork").Pool(clients) as pool:
            # Warm both paths (connections, caches, the opened signing key) before timing.
            pool.map(_healthz, [(base, 20)] * clients)
            pool.map(_issue, [(base, key, [i % people for i in range(5)])] * clients)
            for r in range(rounds):
                trivial, oks = timed(
                    pool, _healthz, [(base, per)] * clients, server.pid, trivial_cpu
                )
                assert sum(oks) == per * clients
                first = r * clients * per
                jobs = [
                    (base, key, [(first + c * per + i) % people for i in range(per)])
                    for c in range(clients)
                ]
                issuing, issued = timed(pool, _issue, jobs, server.pid, issue_cpu)
                trivial_s += trivial
                issue_s += issuing
                ratios.append(trivial / issuing)
                tokens.extend(t for chunk in issued for t in chunk)
        jwks = requests.get(f"{base}/.well-known/jwks.json", timeout=10).json()
    finally:
        stop_server(server)
    started = time.perf_counter()
    failures = 0
    for person, token in tokens:
        result = verify_token(token, jwks, issuer=ISSUER, id_number=id_number_of(person))
        failures += not result.ok
    verify_s = time.perf_counter() - started
    n = per * clients * rounds
    trivial_rate = n / trivial_s
    issue_rate = n / issue_s
    print(f"backend={backend} attestations={n} people={people} profile={PROFILE}")
    print(
        f"server: cehours serve, {workers} workers x {threads} threads;"
        f" clients: {clients} processes"
    )
    print(f"trivial  GET /healthz          {trivial_rate:9.0f} req/s")
    print(f"  {format_cpu(a_request(trivial_cpu, n))}")
    print(f"issuance POST /v1/attestations {issue_rate:9.0f} req/s")
    print(f"  {format_cpu(a_request(issue_cpu, n))}")
    print(f"verification (offline, 1 core) {n / verify_s:9.0f} tokens/s  failures={failures}")
    ratio = issue_rate / trivial_rate
    verdict = "OK" if ratio >= 0.40 else "BELOW TARGET"
    print(
        f"ratio issuance/trivial = {ratio:.1%} (target >= 40%): {verdict}"
        f"  [{rounds} rounds: {min(ratios):.1%} to {max(ratios):.1%}]"
    )


def a_request(total_ms: dict[str, float], requests_done: int) -> dict[str, float]:
    return {group: ms / requests_done for group, ms in total_ms.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    backend = args.backend or ("postgresql" if postgres_available() else "sqlite")
    run(backend, args.count, args.people, args.workers, args.threads, args.clients, args.rounds)


if __name__ == "__main__":
    main()
