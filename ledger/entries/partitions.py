"""``entries`` partitioned by completion year on PostgreSQL: the partitions there are, and more.

Migration 0013 makes ``entries`` a table partitioned by ``RANGE (year)`` (the Asia/Shanghai year
of ``completed_on``), one partition a year (``entries_y2024`` holds ``year`` 2024) and a default
partition (``entries_default``) that takes any year without its own, so that a late or odd record
is never refused. SQLite keeps one plain table; every function here is a no-op there.

Every partition refuses UPDATE, DELETE and TRUNCATE like the parent: the row trigger is declared
on the parent (PostgreSQL clones it onto each partition, including later ones), and TRUNCATE
triggers, which PostgreSQL does not clone, are created here on each partition.

Moving rows out of the default partition into a new year's partition never updates or deletes an
entry: the default partition is detached, the new partitions and a new default are made, every
row of the old default is inserted again through the parent (which routes it), and the old table
is dropped, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from ledger.db.transactions import write_transaction
from ledger.errors import PartitionError
from ledger.values.dates import today_in_business_tz

PARENT = "entries"
DEFAULT = "entries_default"
# How many years after and before the current one `cehours db upgrade` (migration 0013)
# prepares: late records of the last few years are common (a window is two or three years).
YEARS_AHEAD = 3
YEARS_BACK = 5
_NAME = re.compile(r"^entries_(y\d{4}|default)$")
_BOUND = re.compile(r"FROM \((\d+)\) TO \((\d+)\)")


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition of ``entries``: its years ``[first, last]``, or the default (``None``)."""

    name: str
    first_year: int | None
    last_year: int | None
    estimated_rows: int
    bytes: int
    triggers: tuple[str, ...]

    @property
    def is_default(self) -> bool:
        return self.first_year is None


def partition_name(year: int) -> str:
    """The name of the partition holding ``year``."""
    return f"entries_y{year:04d}"


def is_partition_table(name: str) -> bool:
    """Whether a table name is one of the partitions of ``entries`` (for Alembic's comparison)."""
    return bool(_NAME.match(name))


def is_partitioned(conn: Connection) -> bool:
    """Whether ``entries`` is a partitioned table (PostgreSQL after migration 0013)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": PARENT}
    ).scalar()
    return bool(kind == "p")


def partitions_on(conn: Connection) -> list[Partition]:
    """The partitions of ``entries``, years in order, the default last."""
    rows = conn.execute(
        text(
            """
            SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
                   greatest(c.reltuples, 0)::bigint AS estimated_rows,
                   pg_total_relation_size(c.oid) AS bytes,
                   array(SELECT t.tgname::text FROM pg_trigger t
                         WHERE t.tgrelid = c.oid AND t.tgenabled = 'A'
                         ORDER BY t.tgname) AS triggers
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(:t)
            """
        ),
        {"t": PARENT},
    ).mappings()
    found = []
    for row in rows:
        bound = _BOUND.search(row["bound"])
        first, last = (int(bound[1]), int(bound[2]) - 1) if bound else (None, None)
        found.append(
            Partition(
                row["name"],
                first,
                last,
                int(row["estimated_rows"]),
                int(row["bytes"]),
                tuple(row["triggers"]),
            )
        )
    return sorted(found, key=lambda p: (p.first_year is None, p.first_year or 0))


def protect(conn: Connection, table: str) -> None:
    """Make a partition refuse UPDATE, DELETE and TRUNCATE, whatever the replication role.

    The row trigger is the parent's clone; PostgreSQL does not clone statement triggers, so
    TRUNCATE gets its own, calling the parent's function.
    """
    conn.execute(
        text(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PARENT}_append_only()"
        )
    )
    conn.execute(text(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate"))
    conn.execute(text(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {PARENT}_no_update_delete"))


def create_partition(conn: Connection, year: int | None) -> str:
    """Create the partition of ``year`` (``None``: the default partition), protected."""
    if year is None:
        name, bound = DEFAULT, "DEFAULT"
    else:
        name, bound = partition_name(year), f"FOR VALUES FROM ({year}) TO ({year + 1})"
    conn.execute(text(f"CREATE TABLE {name} PARTITION OF {PARENT} {bound}"))
    protect(conn, name)
    return name


def wanted_years(
    existing: set[int],
    data_years: set[int],
    current: int,
    years_ahead: int,
    first_year: int | None = None,
) -> list[int]:
    """The years that need a partition and have none: every year from the earliest that data
    or an existing partition holds (at latest ``first_year``, or the current year) to
    ``years_ahead`` after the current one (or the latest year data holds). Completion dates
    start at 1990, so the range is bounded."""
    low = min({first_year or current, current, *existing, *data_years})
    high = max({current + years_ahead, *existing, *data_years})
    return [y for y in range(low, high + 1) if y not in existing]


def ensure_on(
    conn: Connection,
    years_ahead: int,
    today: dt.date | None = None,
    first_year: int | None = None,
) -> list[str]:
    """Create the partitions :func:`wanted_years` names, and the default one if missing; move
    the rows of the default partition whose year now has a partition into it. Returns the names
    created (empty when nothing was needed: running it again changes nothing).

    Raises:
        PartitionError: ``entries`` is not partitioned (SQLite, or before migration 0013).
    """
    if not is_partitioned(conn):
        raise PartitionError("entries is not partitioned here (PostgreSQL after migration 0013)")
    current = (today or today_in_business_tz()).year
    parts = partitions_on(conn)
    existing = {p.first_year for p in parts if p.first_year is not None}
    has_default = any(p.is_default for p in parts)
    data_years: set[int] = set()
    if has_default:
        data_years = set(conn.execute(text("SELECT DISTINCT year FROM entries_default")).scalars())
    years = wanted_years(existing, data_years, current, years_ahead, first_year)
    created: list[str] = []
    if has_default and data_years & set(years):
        created += _recreate_default_with(conn, years)
    else:
        created += [create_partition(conn, y) for y in years]
        if not has_default:
            created.append(create_partition(conn, None))
    return created


def _recreate_default_with(conn: Connection, years: list[int]) -> list[str]:
    """PostgreSQL refuses a new partition whose rows the default partition holds. Detach the
    default, create the years and a new default, route the old default's rows through the
    parent again and drop the old table: no entry is updated or deleted, only copied."""
    conn.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
    conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}"))
    conn.execute(text(f"ALTER TABLE {DEFAULT} RENAME TO {DEFAULT}_moving"))
    created = [create_partition(conn, y) for y in years]
    created.append(create_partition(conn, None))
    conn.execute(text("INSERT INTO entries SELECT * FROM entries_default_moving"))
    conn.execute(text(f"DROP TABLE {DEFAULT}_moving"))
    return created


def ensure_partitions(
    session: Session,
    years_ahead: int = YEARS_AHEAD,
    today: dt.date | None = None,
    first_year: int | None = None,
) -> list[str]:
    """Use case behind ``cehours db partitions ensure``: see :func:`ensure_on` (``first_year``:
    reach back at least to that year, e.g. before loading a platform's history).

    Raises:
        PartitionError: ``entries`` is not partitioned here.
    """
    with write_transaction(session):
        return ensure_on(session.connection(), years_ahead, today, first_year)


def list_partitions(session: Session) -> list[Partition]:
    """Use case behind ``cehours db partitions list``.

    Raises:
        PartitionError: ``entries`` is not partitioned here.
    """
    with session.begin():
        conn = session.connection()
        if not is_partitioned(conn):
            raise PartitionError(
                "entries is not partitioned here (PostgreSQL after migration 0013)"
            )
        return partitions_on(conn)


def include_object(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for ``dialect``: on PostgreSQL, leave out of the comparison
    what partitioning changes on purpose (the partitions themselves, the unique constraints that
    now include ``year`` and the self-references a partitioned table cannot hold); compare the
    rest as usual."""
    partitioned_only = {
        "uq_entries_person_seq",
        "ux_entries_reverses_id",
        "fk_entries_reverses_id_entries",
        "fk_entries_supersedes_id_entries",
    }

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if dialect != "postgresql":
            return True
        if type_ == "table" and name is not None and is_partition_table(name):
            return False
        return name not in partitioned_only

    return include
