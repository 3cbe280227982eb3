"""Sync throughput and memory: a loopback platform of N records in pages of 1,000, into the ledger.

    .venv/bin/python bench/sync.py [--records 1000000] [--people 50000] [--backend sqlite]

The platform generates its pages on the fly (pinyin fields, Chinese labels), so it holds nothing.
Reports records/s of the whole sync (HTTP, JSON, mapping, validation, append, cursor), the peak
resident memory sampled along the way (target: flat, not growing with N), and the ratio to the
raw insert rate of the same rows into a plain table with executemany, measured in the same run
(target: at least 20%).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa

from bench._common import fresh_database, plain_entries_table
from importers.runner import sync_source
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.sources import add_source
from ledger.entries.tables import Entry
from ledger.values.categories import CATEGORY_LABELS_ZH
from ledger.values.id_numbers import make_id_number

PAGE = 1000
LABELS = tuple(CATEGORY_LABELS_ZH.values())
TOKEN_ENV = "CEHOURS_BENCH_PLATFORM_TOKEN"  # noqa: S105 (the name of a variable)


class Platform:
    """Records 0..N-1, each computed from its index; ``cursor`` is the offset."""

    def __init__(self, records: int, people: int) -> None:
        self.records = records
        self.people = people
        self.ids = [
            make_id_number("330802", dt.date(1960, 1, 1) + dt.timedelta(days=p // 1000), p % 1000)
            for p in range(people)
        ]

    def record(self, i: int) -> dict[str, Any]:
        person = i % self.people
        year = 2020 + (i // self.people) % 5
        return {
            "jlid": f"JL{i:08d}",
            "sfzh": self.ids[person],
            "xm": f"测试{person}",
            "kclb": LABELS[i % 3],
            "xs": f"{1 + i % 8}.5",
            "wcrq": f"{year}{1 + i % 12:02d}{1 + i % 28:02d}",
            "kcmc": f"课程{i % 500}",
        }

    def page(self, start: int, size: int) -> bytes:
        end = min(self.records, start + size)
        document = {
            "code": 0,
            "data": [self.record(i) for i in range(start, end)],
            "next": str(end) if end < self.records else None,
        }
        return json.dumps(document, ensure_ascii=False).encode("utf-8")

    def serve(self, port_out: Any) -> None:
        """Serve forever (run in its own process: a real platform does not share our CPU)."""
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                body = platform.page(int(params.get("cursor", 0)), int(params.get("size", PAGE)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        port_out.put(server.server_address[1])
        server.serve_forever()


def rss_mib() -> float:
    """Current resident set size of this process, in MiB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


RECORD_ROWS = sa.Table(
    "raw_records",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("external_id", sa.String(128)),
    sa.Column("id_number", sa.String(18)),
    sa.Column("name", sa.String(100)),
    sa.Column("category", sa.String(20)),
    sa.Column("hours", sa.BigInteger),
    sa.Column("completed_on", sa.Date),
    sa.Column("course_title", sa.String(200)),
)


def raw_record_rate(url: str, platform: Platform, count: int) -> float:
    """Rows/s inserting the platform's records, as plain rows, into a bare table."""
    engine = make_engine(url)
    RECORD_ROWS.create(engine)
    elapsed = 0.0
    for start in range(0, count, PAGE):
        rows = []
        for i in range(start, min(count, start + PAGE)):
            r = platform.record(i)
            w = r["wcrq"]
            rows.append(
                {
                    "external_id": r["jlid"],
                    "id_number": r["sfzh"],
                    "name": r["xm"],
                    "category": r["kclb"],
                    "hours": int(r["xs"].replace(".", "")),
                    "completed_on": dt.date(int(w[:4]), int(w[4:6]), int(w[6:])),
                    "course_title": r["kcmc"],
                }
            )
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(RECORD_ROWS.insert(), rows)
        elapsed += time.perf_counter() - started
    RECORD_ROWS.drop(engine)
    engine.dispose()
    return count / elapsed


def raw_entry_rate(url: str, count: int) -> float:
    """Rows/s inserting the entry rows the sync wrote, exactly as stored, into a plain table of
    the same columns (no constraints, indexes or triggers): the same rows and commit pattern
    as the sync, without the ledger. Read back a page at a time, so memory stays flat."""
    engine = make_engine(url)
    table = plain_entries_table()
    table.create(engine)
    entries = Entry.__table__
    elapsed, after, done = 0.0, 0, 0
    while done < count:
        with engine.connect() as conn:
            rows = [
                dict(r)
                for r in conn.execute(
                    sa.select(entries)
                    .where(entries.c.id > after)
                    .order_by(entries.c.id)
                    .limit(PAGE)
                ).mappings()
            ]
        if not rows:
            break
        after, done = rows[-1]["id"], done + len(rows)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
        elapsed += time.perf_counter() - started
    table.drop(engine)
    engine.dispose()
    return done / elapsed


def run(backend: str, records: int, people: int, raw_sample: int) -> None:
    platform = Platform(records, people)
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=platform.serve, args=(ports,), daemon=True)
    server.start()
    port = ports.get(timeout=60)
    url = fresh_database(backend, "cehours_bench_sync")
    os.environ[TOKEN_ENV] = "bench-token"
    config = {
        "url": f"http://127.0.0.1:{port}/api/xsjl",
        "auth": {"type": "token", "header": "X-Token", "prefix": "", "token_env": TOKEN_ENV},
        "paging": {"style": "cursor", "page_size": PAGE, "page_size_param": "size"},
        "mapping": {
            "fields": {
                "external_id": "jlid",
                "id_number": "sfzh",
                "name": "xm",
                "category": "kclb",
                "hours": "xs",
                "completed_on": "wcrq",
                "course.title": "kcmc",
            }
        },
        "retry": {"budget_seconds": 86400},
    }
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        add_source(
            session, "bench", kind="city", region_code="330800", display_name="bench", config=config
        )

    sample = min(records, raw_sample)
    raw_records = raw_record_rate(url, platform, sample)

    samples: list[tuple[int, float]] = []
    done = [0]

    def progress(counts: Any) -> None:
        done[0] += counts.fetched
        if done[0] % (records // 10 or PAGE) < PAGE or done[0] == records:
            samples.append((done[0], rss_mib()))

    rss_before = rss_mib()
    started = time.perf_counter()
    with factory() as session:
        result = sync_source(session, "bench", progress=progress)
    elapsed = time.perf_counter() - started
    assert result.status == "succeeded", result.error
    assert result.created == records, result
    server.terminate()
    engine.dispose()
    raw = raw_entry_rate(url, sample)

    rate = records / elapsed
    peak = max(m for _, m in samples)
    print(f"[{backend}] {records:,} records, {people:,} people, pages of {PAGE}")
    print(f"  raw executemany of the same entry rows ({sample:,}): {raw:,.0f} rows/s")
    print(f"  raw executemany of the records as plain rows ({sample:,}): {raw_records:,.0f} rows/s")
    print(f"  sync:  {rate:,.0f} records/s in {elapsed:,.1f}s")
    print(f"  ratio: {rate / raw:.0%} of the raw entry-row rate (target >= 20%),")
    print(f"         {rate / raw_records:.0%} of the raw plain-record rate")
    print(f"  memory: RSS {rss_before:.0f} MiB before, peak {peak:.0f} MiB; along the run:")
    print("    " + ", ".join(f"{n:,}: {m:.0f} MiB" for n, m in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--raw-sample", type=int, default=200_000, help="rows used for the raw baseline"
    )
    args = parser.parse_args()
    run(args.backend, args.records, args.people, args.raw_sample)


if __name__ == "__main__":
    main()
