"""Load and fault: eight writers post every record twice while the server is SIGKILLed and,
on PostgreSQL, every database backend is killed every second.

    .venv/bin/python bench/load_fault.py [--backend sqlite|postgresql|both] [--records 8000]
                                         [--clients 8] [--batch 200] [--kills 5]
                                         [--backend-kill-interval 1.0]

For each backend: a fresh migrated database, one platform source and its API key, and
``cehours serve`` (gunicorn, 2 workers) as a real process group. Every client owns a slice of
the records plus half of each neighbour's, so every record is posted by two clients, in
batches, in a shuffled order. A client retries a batch (backing off) until it gets an answer:
after a refused connection, a reset, a timeout or a 5xx. Even-numbered clients send an
``Idempotency-Key``, odd ones do not, so both retry paths are exercised.

First a fault-free run measures the baseline rate. Then the same workload runs again on a new
database while the whole server process group is killed with SIGKILL (as a crashed container)
at evenly spaced points of progress and started again; on PostgreSQL a thread also terminates
every backend of the database (``pg_terminate_backend``) every second, mid-request. At the end
every record must be in the ledger exactly once, every answer must have been ``created`` or
``duplicate``, no answer may have been a 500 (a fault is a 503 with ``Retry-After``, retried),
and ``cehours ledger verify`` must pass. Prints records posted, kills survived, answers retried
by status, duplicates found, lost, the recovery times (from a SIGKILL, or a backend kill, to
the first answer 200 of a request sent after it) and the rate under faults against the
baseline. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_database, generate_records, postgres_available
from ledger.access.clients import create_client
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.sources import add_source

CEHOURS = str(Path(sys.executable).parent / "cehours")
SOURCE = "fault-city"
RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``cehours serve`` in its own process group, so that one SIGKILL takes all of it."""

    def __init__(self, url: str, port: int, log: Path) -> None:
        self.env = {**os.environ, "CEHOURS_DATABASE_URL": url, "CEHOURS_ENV": "development"}
        self.port = port
        self.log = log.open("ab")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [CEHOURS, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
             "--threads", "4"],
            env=self.env, stdout=self.log, stderr=self.log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok:
                    return time.perf_counter() - started
            except requests.RequestException:
                time.sleep(0.1)
        raise SystemExit("the server did not come up")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        # The workers die with the group; wait until the port is free for the restart.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        self.log.close()


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    oks: list[tuple[float, float]] = field(default_factory=list)
    """(sent, answered) of every answer 200, on the monotonic clock."""
    posted: int = 0
    acknowledged: int = 0
    retries: int = 0
    http_errors: dict[int, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    def answer(self, results: list[dict[str, Any]]) -> None:
        with self.lock:
            self.acknowledged += len(results)
            for r in results:
                self.statuses[r["status"]] = self.statuses.get(r["status"], 0) + 1
                if r["status"] not in ("created", "duplicate"):
                    self.unexpected.append(f"{r['external_id']}: {r['status']} {r.get('errors')}")


def client_batches(
    records: list[dict[str, Any]], client: int, clients: int, batch: int
) -> list[list[dict[str, Any]]]:
    """This client's slice plus half of each neighbour's, shuffled, in batches."""
    n = len(records)
    share = n // clients
    start, end = client * share - share // 2, (client + 1) * share + share // 2
    mine = [records[i % n] for i in range(start, end)]
    random.Random(client).shuffle(mine)
    return [mine[i : i + batch] for i in range(0, len(mine), batch)]


def run_client(
    base: str, key: str, batches: list[list[dict[str, Any]]], tally: Tally, idempotent: bool
) -> None:
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {key}"
        for batch in batches:
            headers = {"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}
            delay = 0.05
            while True:
                sent = time.monotonic()
                try:
                    response = http.post(
                        f"{base}/v1/records", json={"records": batch}, headers=headers, timeout=30
                    )
                except RETRYABLE:
                    response = None
                if response is not None and response.status_code == 200:
                    tally.answer(response.json()["results"])
                    with tally.lock:
                        tally.posted += len(batch)
                        tally.oks.append((sent, time.monotonic()))
                    break
                if (
                    response is not None
                    and response.status_code < 500
                    and (response.status_code != 409)
                ):
                    # A definite refusal is a bug in this bench or the service: report it.
                    tally.unexpected.append(f"HTTP {response.status_code}: {response.text[:200]}")
                    break
                with tally.lock:
                    tally.retries += 1
                    if response is not None:
                        code = response.status_code
                        tally.http_errors[code] = tally.http_errors.get(code, 0) + 1
                time.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 1.0)


class BackendKiller:
    """Terminates every backend of a PostgreSQL database every ``interval`` seconds."""

    def __init__(self, url: str, interval: float) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.interval = interval
        self.stop = threading.Event()
        self.times: list[float] = []
        self.killed = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                with self.engine.connect() as conn:
                    killed = conn.execute(
                        sa.text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            " AND backend_type = 'client backend'"
                        )
                    ).scalar_one()
            except sa.exc.OperationalError:
                continue
            self.times.append(time.monotonic())
            self.killed += int(killed)

    def __enter__(self) -> BackendKiller:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)
        self.engine.dispose()


def recovery_times(faults: list[float], oks: list[tuple[float, float]]) -> list[float]:
    """For each fault, seconds until the first answer 200 of a request sent after it."""
    oks = sorted(oks)
    out = []
    for at in faults:
        after = [answered for sent, answered in oks if sent >= at]
        if after:
            out.append(min(after) - at)
    return out


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"mean {sum(values) / len(values):.2f} s, max {max(values):.2f} s ({len(values)})"


def check_ledger(url: str, expected: set[str]) -> tuple[int, int, int]:
    """(credits in the ledger, external ids held more than once, expected ids missing)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        credits = conn.execute(
            sa.text("SELECT count(*) FROM entries WHERE source_id = :s AND kind = 'credit'"),
            {"s": SOURCE},
        ).scalar_one()
        duplicates = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT external_id FROM entries WHERE source_id = :s"
                " AND kind = 'credit' GROUP BY external_id HAVING count(*) > 1) d"
            ),
            {"s": SOURCE},
        ).scalar_one()
        held = {
            row[0]
            for row in conn.execute(
                sa.text("SELECT external_id FROM records WHERE source_id = :s"), {"s": SOURCE}
            )
        }
    engine.dispose()
    return credits, duplicates, len(expected - held)


def one_run(
    kind: str,
    name: str,
    records: list[dict[str, Any]],
    args: argparse.Namespace,
    kills: int,
    backends_killed: bool = False,
) -> dict[str, Any]:
    url = fresh_database(kind, name)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        add_source(session, SOURCE, kind="city", region_code="330800", display_name="fault")
        _, key = create_client(session, name="fault bench", role="platform", source_id=SOURCE)
    engine.dispose()
    log = Path(tempfile.gettempdir()) / f"{name}-{kind}-server.log"
    server = Server(url, free_port(), log)
    base = f"http://127.0.0.1:{server.port}"
    server.start()
    tally = Tally()
    plan = [client_batches(records, c, args.clients, args.batch) for c in range(args.clients)]
    total = sum(len(b) for batches in plan for b in batches)
    threads = [
        threading.Thread(target=run_client, args=(base, key, plan[c], tally, c % 2 == 0))
        for c in range(args.clients)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    survived, restarts, kill_times = 0, [], []
    down: list[tuple[float, float]] = []  # while the server was killed and restarting
    killer = BackendKiller(url, args.backend_kill_interval) if backends_killed else None
    try:
        if killer is not None:
            killer.__enter__()
        for k in range(1, kills + 1):
            # Kill at evenly spaced points of progress, so that every kill lands mid-load.
            target = total * k / (kills + 1) * random.uniform(0.85, 1.15)
            while tally.acknowledged < target and any(t.is_alive() for t in threads):
                time.sleep(0.02)
            if not any(t.is_alive() for t in threads):
                break
            kill_times.append(time.monotonic())
            server.kill()
            restarts.append(server.start())
            down.append((kill_times[-1], time.monotonic()))
            survived += 1
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        if killer is not None:
            killer.__exit__()
        server.stop()
    expected = {r["external_id"] for r in records}
    credits, duplicates, lost = check_ledger(url, expected)
    verify = subprocess.run(
        [CEHOURS, "ledger", "verify"],
        env={**os.environ, "CEHOURS_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "distinct": len(expected),
        "posted": tally.posted,
        "total": total,
        "retries": tally.retries,
        "http_errors": dict(sorted(tally.http_errors.items())),
        "statuses": tally.statuses,
        "unexpected": tally.unexpected,
        "kills": survived,
        "restart_s": sum(restarts) / len(restarts) if restarts else 0.0,
        "recovery_sigkill": recovery_times(kill_times, tally.oks),
        # Backend kills while the server was down say nothing of the database's recovery.
        "recovery_backend": recovery_times(
            [t for t in (killer.times if killer else []) if not any(a <= t <= b for a, b in down)],
            tally.oks,
        ),
        "backends_killed": killer.killed if killer else 0,
        "credits": credits,
        "duplicates": duplicates + max(0, credits - len(expected)),
        "lost": lost,
        "verify_ok": verify.returncode == 0,
        "verify": (verify.stdout + verify.stderr).strip().splitlines()[-1:],
        "rate": tally.posted / elapsed,
        "elapsed": elapsed,
    }


def run(kind: str, args: argparse.Namespace) -> bool:
    records = list(generate_records(args.records, max(1, args.records // 10)))
    for r in records:
        r["external_id"] = f"lf-{r['external_id']}"
    baseline = one_run(kind, "cehours_bench_fault_base", records, args, kills=0)
    killing = kind == "postgresql"
    faulted = one_run(kind, "cehours_bench_fault", records, args, args.kills, killing)
    ok = True
    print(f"\n[{kind}] {args.clients} clients, batches of {args.batch}, {args.records} records")
    faults = "SIGKILLs" + (", backends killed every second" if killing else "")
    for label, r in (("baseline (no faults)", baseline), (f"with {faults}", faulted)):
        good = (
            r["duplicates"] == 0
            and r["lost"] == 0
            and not r["unexpected"]
            and r["verify_ok"]
            and r["credits"] == r["distinct"]
            and r["http_errors"].get(500, 0) == 0
        )
        ok = ok and good
        print(f"  {label}:")
        print(f"    records posted      {r['posted']:>8} ({r['distinct']} distinct; answers "
              f"{dict(sorted(r['statuses'].items()))})")  # fmt: skip
        print(f"    kills survived      {r['kills']:>8}   (mean restart {r['restart_s']:.1f} s)")
        errors = r["http_errors"] or "none"
        print(f"    retries             {r['retries']:>8}   (HTTP answers retried: {errors};"
              " the rest: refused connections, resets)")  # fmt: skip
        print(f"    answers of 500      {r['http_errors'].get(500, 0):>8}   (must be 0)")
        if r["backends_killed"]:
            print(f"    backends killed     {r['backends_killed']:>8}")
        print(f"    recovery, SIGKILL   {spread(r['recovery_sigkill'])}")
        print(f"    recovery, backend   {spread(r['recovery_backend'])}")
        print(f"    duplicates found    {r['duplicates']:>8}   (must be 0)")
        print(f"    lost                {r['lost']:>8}   (must be 0)")
        print(f"    ledger credits      {r['credits']:>8}   (must equal distinct records)")
        print(f"    ledger verify       {'OK' if r['verify_ok'] else 'FAILED'}   {r['verify']}")
        print(f"    rate                {r['rate']:>8.0f} records/s over {r['elapsed']:.1f} s")
        for line in r["unexpected"][:5]:
            print(f"    UNEXPECTED {line}")
        print(f"    {'PASS' if good else 'FAIL'}")
    print(
        f"  rate under faults / baseline = {faulted['rate'] / baseline['rate']:.0%}"
        f"  ({args.kills} kills requested, {faulted['kills']} made)"
    )
    return ok and faulted["kills"] == args.kills


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--records", type=int, default=8000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--backend-kill-interval", type=float, default=1.0)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in kinds and not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (CEHOURS_BENCH_PG_URL)")
    results = [run(kind, args) for kind in kinds]
    print("\nload_fault:", "PASS" if all(results) else "FAIL")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
