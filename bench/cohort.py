"""Filing offices: a cohort over HTTP vs in-process, a status list of 1,000,000, the cohort CLI.

    .venv/bin/python bench/cohort.py [--people 10000] [--list-size 1000000]
                                     [--backend postgresql|sqlite] [--requests 500]

On a fresh migrated database with ``--people`` people (about 12 records each over 2019-2021):

1. **Cohort.** The same ``--people`` evaluations (profile quzhou-2020-intermediate, by ID
   number, 1,000 a batch, totals only) in-process through ``evaluate_cohort``, then through
   ``POST /v1/compliance/batch`` of ``cehours serve`` (one client, one request at a time, as a
   filing system sends its batches), alternately, twice each. Prints both rates and the ratio
   (target: at least 60%).
2. **Status list.** ``--list-size`` attestations given places in status list 1 (rows written
   directly, one statement on PostgreSQL: issuing a million tokens is not what is measured),
   2% stale and 0.5% revoked at random places. Prints the size of the list (``lst``) and of
   the whole token (target under 300 kB), the time to build it cold, and the latency of ``GET
   /v1/status-lists/1`` over ``--requests`` requests (p50, p99; target p99 under 20 ms).
3. **Cohort CLI**, run first, so that its process is the only child measured: ``cehours check
   --cohort`` over a CSV of all ``--people`` applicants into an XLSX: wall time and the peak
   memory (maximum resident set) of the process.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    fresh_database,
    generate_records,
    postgres_available,
    start_server,
    stop_server,
)
from ledger.access.clients import create_client
from ledger.attestations import key_encryption, signing_keys
from ledger.attestations.status_bits import encode, pack, slot_of
from ledger.attestations.status_lists import STATUS_VALUES, get_status_list_token
from ledger.compliance.catalogue import get_profile
from ledger.compliance.cohorts import MAX_COHORT, evaluate_cohort
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.entries.sources import add_source
from ledger.values.id_numbers import make_id_number

ISSUER = "https://cehours.bench/"
PROFILE = "quzhou-2020-intermediate"
AS_OF = "2020-12-31"


def id_number_of(person: int) -> str:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=person // 1000)
    return make_id_number("330802", born, person % 1000)


def seed(url: str, people: int) -> tuple[str, str]:
    """Hours for ``people`` people, a signing key and a filing key; ANALYZE as autovacuum would."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        add_source(session, "bench", kind="city", region_code="330800", display_name="bench")
        batch: list[dict[str, Any]] = []
        for rec in generate_records(people * 12, people, years=3):
            batch.append(rec)
            if len(batch) == 1000:
                append_records(session, "bench", batch, actor="bench")
                batch = []
        if batch:
            append_records(session, "bench", batch, actor="bench")
        kek_text = key_encryption.new_kek_text()
        signing_keys.create_key(session, key_encryption.parse_kek(kek_text), actor="bench")
        _, key = create_client(session, name="bench filing", role="filing")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return kek_text, key


def batches(people: int) -> list[list[dict[str, str]]]:
    everyone = [{"id_number": id_number_of(p), "ref": f"ZC-{p}"} for p in range(people)]
    return [everyone[i : i + MAX_COHORT] for i in range(0, people, MAX_COHORT)]


def in_process(url: str, cohort: list[list[dict[str, str]]]) -> tuple[float, int]:
    """Seconds to evaluate every batch through the ledger's cohort use case; how many complied."""
    engine = make_engine(url)
    profile = get_profile(PROFILE)
    as_of = dt.date.fromisoformat(AS_OF)
    compliant = 0
    with make_session_factory(engine)() as session:
        evaluate_cohort(session, profile, cohort[0][:50], as_of)  # warm
        started = time.perf_counter()
        for people in cohort:
            results = evaluate_cohort(session, profile, people, as_of)
            compliant += sum(1 for r in results if r.evaluation and r.evaluation.compliant)
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, compliant


def over_http(base: str, key: str, cohort: list[list[dict[str, str]]]) -> tuple[float, int]:
    """Seconds to send every batch to ``POST /v1/compliance/batch``; how many complied."""
    compliant = 0
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {key}"
        body = {"profile": PROFILE, "as_of": AS_OF}
        http.post(f"{base}/v1/compliance/batch", json={**body, "people": cohort[0][:50]})
        started = time.perf_counter()
        for people in cohort:
            response = http.post(
                f"{base}/v1/compliance/batch", json={**body, "people": people}, timeout=120
            )
            if response.status_code != 200:
                raise SystemExit(f"batch failed: {response.status_code} {response.text[:500]}")
            compliant += response.json()["counts"]["compliant"]
        elapsed = time.perf_counter() - started
    return elapsed, compliant


def fill_status_list(url: str, size: int) -> dict[int, str]:
    """``size`` attestations at positions 0..size-1 of list 1, 2% stale and 0.5% revoked."""
    rng = random.Random(18)
    changed: dict[int, str] = {}
    for position in rng.sample(range(size), size // 40):
        changed[position] = "stale"
    for position in rng.sample(range(size), size // 200):
        changed[position] = "revoked"
    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        person = conn.execute(sa.text("SELECT id FROM people LIMIT 1")).scalar_one()
        common = {"person": person, "now": now}
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(_PG_FILL), {**common, "size": size})
            for status in ("stale", "revoked"):
                positions = [p for p, s in changed.items() if s == status]
                conn.execute(
                    sa.text("UPDATE attestations SET status = :s WHERE status_position = ANY(:p)"),
                    {"s": status, "p": positions},
                )
        else:
            rows = [
                {**common, "jti": f"att_b{p}", "p": p, "status": changed.get(p, "valid")}
                for p in range(size)
            ]
            conn.execute(sa.text(_SQLITE_FILL), rows)
    engine.dispose()
    return changed


_COLUMNS = (
    "jti, person_id, profile_id, profile_version, profile_digest, as_of, kid, token,"
    " compliant, status, status_changed_at, issued_by, issued_at, expires_at, status_position"
)
_PG_FILL = f"""
    INSERT INTO attestations ({_COLUMNS})
    SELECT 'att_b' || p, :person, 'bench', '1', 'x', DATE '2020-12-31', 'kid', 'x', true,
        'valid', :now, 'bench', :now, :now, p
    FROM generate_series(0, :size - 1) AS p
"""
_SQLITE_FILL = f"""
    INSERT INTO attestations ({_COLUMNS})
    VALUES (:jti, :person, 'bench', '1', 'x', '2020-12-31', 'kid', 'x', 1, :status, :now,
        'bench', :now, :now, :p)
"""


def status_list_figures(url: str, kek_text: str, changed: dict[int, str]) -> list[str]:
    raw = pack((slot_of(p).idx, STATUS_VALUES[s]) for p, s in changed.items())
    lst = encode(raw)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        token = get_status_list_token(
            session, 1, uri=f"{ISSUER}v1/status-lists/1", issuer=ISSUER,
            kek=key_encryption.parse_kek(kek_text),
        )  # fmt: skip
        cold = (time.perf_counter() - started) * 1000
    engine.dispose()
    verdict = "OK" if len(token) < 300_000 else "ABOVE TARGET"
    return [
        f"  lst {len(lst) / 1000:.1f} kB, whole token {len(token) / 1000:.1f} kB"
        f" (target < 300 kB): {verdict}; all valid: {len(encode(pack([]))) / 1000:.1f} kB",
        f"  built cold (read {len(changed):,} changed rows, pack, compress, sign): {cold:.0f} ms",
    ]


def latencies(base: str, path: str, count: int) -> tuple[float, float]:
    """p50 and p99 milliseconds of ``count`` GETs of ``path``, one at a time, after one more."""
    samples = []
    with requests.Session() as http:
        http.get(f"{base}{path}", timeout=60)  # a list is built once, then remembered
        for _ in range(count):
            started = time.perf_counter()
            response = http.get(f"{base}{path}", timeout=60)
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path} failed: {response.status_code}")
    ordered = sorted(samples)
    return statistics.median(samples), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def serve_latency(base: str, count: int) -> list[str]:
    lines = []
    for _ in range(2):  # alternately, so that the machine's other work weighs on both alike
        trivial = latencies(base, "/healthz", count)
        p50, p99 = latencies(base, "/v1/status-lists/1", count)
        verdict = "OK" if p99 < 20 else "ABOVE TARGET"
        lines.append(
            f"  GET /v1/status-lists/1 x {count}: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
            f" (target < 20 ms): {verdict};  GET /healthz p50 {trivial[0]:.2f} p99 {trivial[1]:.2f}"
        )
    return lines


def cohort_cli(url: str, people: int) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="cehours-cohort-"))
    source, out = folder / "applicants.csv", folder / "report.xlsx"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["身份证号", "姓名", "申报编号"])
        writer.writerows([id_number_of(p), f"测试{p}", f"ZC-{p}"] for p in range(people))
    command = [
        str(Path(sys.executable).with_name("cehours")), "check", "--cohort", str(source),
        "--profile", PROFILE, "--as-of", AS_OF, "--out", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, "CEHOURS_DATABASE_URL": url},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"cehours check --cohort failed: {done.stderr}")
    # The largest child waited for so far: this is the first (run before the server starts).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return [
        f"  cehours check --cohort, {people:,} applicants: {elapsed:.1f} s"
        f" ({people / elapsed:,.0f} applicants/s), peak memory {peak:.0f} MiB,"
        f" report {out.stat().st_size / 1000:.0f} kB",
        f"  {done.stdout.strip()}",
    ]


def run(args: argparse.Namespace) -> None:
    backend = args.backend or ("postgresql" if postgres_available() else "sqlite")
    url = fresh_database(backend, "bench_cohort")
    started = time.perf_counter()
    kek_text, key = seed(url, args.people)
    seconds = time.perf_counter() - started
    print(f"backend={backend} people={args.people:,} (seeded in {seconds:.0f} s)")
    print("cohort report:")
    for line in cohort_cli(url, args.people):
        print(line, flush=True)
    cohort = batches(args.people)
    env = {
        "CEHOURS_DATABASE_URL": url,
        key_encryption.KEK_ENV: kek_text,
        "CEHOURS_ISSUER": ISSUER,
        "CEHOURS_ENGINE_OPTIONS": json.dumps({"pool_size": 4}),
    }
    server, base = start_server(env, workers=1, threads=4)
    try:
        local_s = http_s = 0.0
        for _ in range(2):
            seconds, local_ok = in_process(url, cohort)
            local_s += seconds
            seconds, http_ok = over_http(base, key, cohort)
            http_s += seconds
        if local_ok != http_ok:
            raise SystemExit(f"in-process and HTTP disagree: {local_ok} vs {http_ok} compliant")
        n = 2 * args.people
        ratio = local_s / http_s
        print(f"cohort ({local_ok:,} of {args.people:,} compliant), {MAX_COHORT} a batch:")
        print(f"  in-process evaluate_cohort        {n / local_s:8.0f} people/s")
        print(f"  POST /v1/compliance/batch (HTTP)  {n / http_s:8.0f} people/s")
        print(f"  ratio HTTP/in-process = {ratio:.1%} (target >= 60%):"
              f" {'OK' if ratio >= 0.6 else 'BELOW TARGET'}")  # fmt: skip
        changed = fill_status_list(url, args.list_size)
        print(f"status list of {args.list_size:,} attestations ({len(changed):,} not valid):")
        for line in status_list_figures(url, kek_text, changed):
            print(line, flush=True)
        for line in serve_latency(base, args.requests):
            print(line, flush=True)
    finally:
        stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--list-size", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--requests", type=int, default=500)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
