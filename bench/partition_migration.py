"""How long migration 0013 takes on a large ledger: partitioned to one table and back.

    .venv/bin/python bench/partition_migration.py --database bench_scale_part

Takes a database ``bench/scale.py`` built (at the head revision, ``entries`` partitioned) and
times, on it, the migration's downgrade (``0014`` then ``0013`` down to ``0012``: ``entries``
copied into one plain table, its constraints and foreign keys made again) and its upgrade back
to the head (copied into the ``RANGE (year)`` parent, a partition per year). Both are what an
operator's write downtime would be (``entries`` is locked for the copy). It prints the entries,
each step's time and rate, and checks that the entries are the same afterwards (their count and
an order-independent digest of every row). The database is kept, partitioned again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa

from bench._common import PG_ADMIN_URL
from ledger.db.engine import make_engine
from ledger.schema import alembic_config, current_revision, head_revision

# An order-independent digest of every entry row: the same rows give the same digest whatever
# table (one or many partitions) holds them.
DIGEST = (
    "SELECT count(*), coalesce(sum(('x' || substr(md5(e::text), 1, 15))::bit(60)::bigint), 0)"
    " FROM (SELECT id, person_id, seq, kind, source_id, external_id, record_version, category,"
    " hours, completed_on, year, course_code, course_title, course_provider, content_digest,"
    " reverses_id, supersedes_id, reason, actor, recorded_at, prev_hash, hash FROM entries) AS e"
)


def _state(engine: sa.Engine) -> tuple[str | None, int, int, int]:
    with engine.connect() as conn:
        count, digest = conn.execute(sa.text(DIGEST)).one()
        partitions = conn.scalar(
            sa.text("SELECT count(*) FROM pg_partition_tree('entries') WHERE isleaf")
        )
    return current_revision(engine), int(count), int(digest), int(partitions or 1)


def main() -> None:
    from alembic import command

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True, help="a database bench/scale.py built")
    args = parser.parse_args()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + args.database
    engine = make_engine(url)
    config = alembic_config(url)
    before = _state(engine)
    if before[0] != head_revision():
        sys.exit(f"{args.database} is at {before[0]}, not the head {head_revision()}")
    print(f"{args.database}: {before[1]:,} entries in {before[3]} partitions", flush=True)
    for label, step, target in (
        ("downgrade to 0012 (one table)", command.downgrade, "0012"),
        ("upgrade to head (partitioned)", command.upgrade, "head"),
    ):
        started = time.perf_counter()
        step(config, target)
        seconds = time.perf_counter() - started
        after = _state(engine)
        same = after[1:3] == before[1:3]
        print(
            f"  {label}: {seconds:,.1f} s ({before[1] / seconds:,.0f} entries/s);"
            f" now {after[0]}, {after[3]} partition{'s' if after[3] != 1 else ''},"
            f" entries {'the same' if same else 'DIFFERENT'}",
            flush=True,
        )
        if not same:
            sys.exit(1)
    engine.dispose()


if __name__ == "__main__":
    main()
