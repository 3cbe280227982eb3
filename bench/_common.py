"""Shared benchmark plumbing: fresh databases, generated records, the raw-insert baseline."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from ledger.db.engine import make_engine
from ledger.entries.records import parse_record
from ledger.entries.tables import Entry
from ledger.schema import upgrade_database
from ledger.values.id_numbers import make_id_number

PG_ADMIN_URL = os.environ.get(
    "CEHOURS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CATEGORIES = ("specialised", "industry_public", "general_public")


def fresh_database(kind: str, name: str, *, keep: bool = False) -> str:
    """A new, migrated database for a benchmark run; returns its URL. A PostgreSQL database is
    dropped when the process exits unless ``keep`` (for benchmarks that measure it again)."""
    if kind == "sqlite":
        path = os.path.join(tempfile.mkdtemp(prefix="cehours-bench-"), f"{name}.sqlite3")
        url = f"sqlite:///{path}"
    else:
        # One database per process, dropped at exit: two benchmarks running at once must never
        # recreate each other's database. A kept database keeps its name, to be found again.
        if not keep:
            name = f"{name}_{os.getpid()}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        admin.dispose()
        if not keep:
            atexit.register(_drop_database, name)
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade_database(url)
    return url


def _drop_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    env: dict[str, str], *, workers: int, threads: int, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``cehours serve`` (gunicorn, as operators run it) on a free loopback port, in its own
    process group; returns the process (the gunicorn master: its workers are its children) and
    the base URL once ``/readyz`` answers. ``env`` is added to this process's environment (the
    database URL and whatever else the run needs); the server's output goes to ``log``."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("cehours")), "serve", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads),
    ]  # fmt: skip
    with open(log or os.devnull, "w") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a busy machine can take a while to import and fork
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit(f"cehours serve did not come up{f': see {log}' if log else ''}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a server from :func:`start_server`, with every worker of its process group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def generate_records(count: int, people: int, years: int = 5) -> Iterator[dict[str, Any]]:
    """``count`` valid records spread over ``people`` people and ``years`` years."""
    for i in range(count):
        person = i % people
        born = dt.date(1960, 1, 1) + dt.timedelta(days=person // 1000)
        year = 2020 + (i // people) % years
        yield {
            "external_id": f"bench-{i}",
            "id_number": make_id_number("330802", born, person % 1000),
            "name": f"测试{person}",
            "category": CATEGORIES[i % 3],
            "hours": f"{1 + i % 8}.5",
            "completed_on": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "course": {"code": f"C{i % 500}", "title": f"课程{i % 500}"},
        }


RAW = sa.Table(
    "raw_entries",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.String(64)),
    sa.Column("external_id", sa.String(128)),
    sa.Column("id_number", sa.String(18)),
    sa.Column("name", sa.String(100)),
    sa.Column("category", sa.String(20)),
    sa.Column("hours", sa.BigInteger),
    sa.Column("completed_on", sa.Date),
    sa.Column("course_code", sa.String(64)),
    sa.Column("course_title", sa.String(200)),
)


def raw_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same records as plain rows (validated once, outside the timing)."""
    rows = []
    for raw in records:
        rec = parse_record(raw)
        rows.append(
            {
                "source_id": "bench",
                "external_id": rec.external_id,
                "id_number": rec.id_number,
                "name": rec.name,
                "category": rec.category.value,
                "hours": int(rec.hours * 10),
                "completed_on": rec.completed_on,
                "course_code": rec.course_code,
                "course_title": rec.course_title,
            }
        )
    return rows


def plain_entries_table() -> sa.Table:
    """A table with the entries' columns and types, but no keys, indexes or triggers."""
    columns = [sa.Column(c.name, c.type) for c in Entry.__table__.columns]
    return sa.Table("raw_entries", sa.MetaData(), *columns)


def ledger_rows(url: str) -> list[dict[str, Any]]:
    """Every entry row the ledger holds, as stored (the raw baseline inserts these)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(Entry.__table__)).mappings()]
    engine.dispose()
    return rows


def timed_insert_rate(
    url: str, table: sa.Table, rows: list[dict[str, Any]], batch: int = 500
) -> float:
    """Rows per second inserting ``rows`` into a fresh ``table`` with executemany, one
    transaction per batch (the same commit pattern as the ledger path); the table is dropped
    afterwards."""
    engine = make_engine(url)
    table.drop(engine, checkfirst=True)
    table.create(engine)
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        with engine.begin() as conn:
            conn.execute(table.insert(), rows[i : i + batch])
    elapsed = time.perf_counter() - started
    table.drop(engine)
    engine.dispose()
    return len(rows) / elapsed


def raw_entry_insert_rate(url: str, rows: list[dict[str, Any]], batch: int = 500) -> float:
    """Rows per second inserting the ledger's own entry rows into a plain table of the same
    columns and types (no constraints, no indexes, no triggers): the same rows and commit
    pattern as the ledger path, without the ledger."""
    return timed_insert_rate(url, plain_entries_table(), rows, batch)


def raw_insert_rate(url: str, rows: list[dict[str, Any]], batch: int = 500) -> float:
    """Rows per second inserting ``rows`` (see :func:`raw_rows`) into a plain table."""
    return timed_insert_rate(url, RAW, rows, batch)


def _cpu_by_group(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far, from /proc: by the server (``cehours serve`` and its gunicorn
    workers), by PostgreSQL's processes, by this benchmark's own client processes (its
    children other than the server), and by the whole machine (every CPU, kernel included).
    Empty where there is no /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    groups = {"server": 0.0, "database": 0.0, "clients": 0.0, "machine": 0.0}
    try:
        names = os.listdir("/proc")
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:9]  # user nice system idle iowait irq softirq steal
    except OSError:
        return {}
    busy = [int(v) for i, v in enumerate(fields) if i not in (3, 4)]
    groups["machine"] = sum(busy) / tick
    me = os.getpid()
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                head, rest = stat.read().rsplit(")", 1)
        except OSError:
            continue
        values = rest.split()
        pid, parent, used = int(name), int(values[1]), (int(values[11]) + int(values[12])) / tick
        if server_pid in (pid, parent):
            groups["server"] += used
        elif head.endswith("(postgres"):
            groups["database"] += used
        elif parent == me:
            groups["clients"] += used
    return groups


class CpuMeter:
    """CPU milliseconds a request, by group (see :func:`_cpu_by_group`), over a measured
    phase: on a machine shared with other work these are steadier than the rates, and they
    say where a request's cost goes. Processes that exit during the phase are not counted, so
    keep client pools alive across it."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.before = _cpu_by_group(server_pid)

    def per_request(self, requests_done: int) -> dict[str, float]:
        after = _cpu_by_group(self.server_pid)
        return {
            group: (after[group] - self.before.get(group, 0.0)) / requests_done * 1000
            for group in after
        }


def format_cpu(split: dict[str, float]) -> str:
    """``server 1.23 + database 0.45 + clients 0.67 of machine 2.80 ms a request``."""
    if not split:
        return "CPU split unavailable (no /proc)"
    parts = " + ".join(f"{g} {split[g]:.2f}" for g in ("server", "database", "clients"))
    return f"CPU a request: {parts} of machine {split['machine']:.2f} ms"
