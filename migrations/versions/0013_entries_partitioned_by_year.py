"""entries partitioned by year

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

On PostgreSQL, ``entries`` becomes a table partitioned by ``RANGE (year)`` (``year`` is the
Asia/Shanghai year of ``completed_on``): one partition per year from the earliest year the data
holds (at latest five years before the current one) to three years after the current one, and a default partition for any other year
(``ledger.entries.partitions``; ``cehours db partitions ensure`` adds years later). A populated
ledger is converted by copying: a new partitioned table is built beside the old one, every row is
inserted into it, indexes are built once the rows are in, and the old table is dropped. No entry
is updated or deleted; the id sequence moves to the new table.

A partitioned table's unique constraints must include the partition key, so:

- the primary key becomes ``(id, year)``; ids still come from the one sequence;
- ``uq_entries_person_seq`` becomes ``(person_id, seq, year)``: the append path, which locks the
  person's row and moves ``people.entry_count`` in the same transaction, is what admits one entry
  per place in a chain;
- ``ux_entries_reverses_id`` becomes ``(reverses_id, year)``, partial as before;
- the two self-references (``reverses_id``, ``supersedes_id`` -> ``entries.id``) cannot be
  foreign keys any more (the referenced key would have to be unique on ``id`` alone).

``cehours ledger verify`` checks each of these across partitions (``ledger.entries.audit``).
Downgrade converts back to one plain table with the former constraints. SQLite is unchanged.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from ledger.entries import partitions
from ledger.values.dates import today_in_business_tz

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    "pk_entries",
    "uq_entries_person_seq",
    "ux_entries_reverses_id",
    "ix_entries_supersedes_id",
)
_SELF_FKS = ("fk_entries_reverses_id_entries", "fk_entries_supersedes_id_entries")


def _put_aside(conn: Connection, suffix: str) -> None:
    """Rename ``entries`` and its indexes, so the new table can take their names."""
    conn.execute(text(f"ALTER TABLE entries RENAME TO entries_{suffix}"))
    for index in _INDEXES:
        conn.execute(text(f"ALTER INDEX {index} RENAME TO {index}_{suffix}"))


def _new_table(conn: Connection, old: str, partitioned: bool) -> None:
    by = " PARTITION BY RANGE (year)" if partitioned else ""
    conn.execute(
        text(f"CREATE TABLE entries (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE){by}")
    )
    # Otherwise the sequence would go with the old table.
    conn.execute(text("ALTER SEQUENCE entries_id_seq OWNED BY entries.id"))


def _protect_parent(conn: Connection) -> None:
    # The function entries_append_only() stays from 0001; the old table's triggers go with it.
    for name, when, each in (
        ("entries_no_update_delete", "UPDATE OR DELETE", "ROW"),
        ("entries_no_truncate", "TRUNCATE", "STATEMENT"),
    ):
        conn.execute(
            text(
                f"CREATE TRIGGER {name} BEFORE {when} ON entries "
                f"FOR EACH {each} EXECUTE FUNCTION entries_append_only()"
            )
        )
        conn.execute(text(f"ALTER TABLE entries ENABLE ALWAYS TRIGGER {name}"))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for fk in _SELF_FKS:
        conn.execute(text(f"ALTER TABLE entries DROP CONSTRAINT {fk}"))
    _put_aside(conn, "plain")
    _new_table(conn, "entries_plain", partitioned=True)
    _protect_parent(conn)
    data_years = set(conn.execute(text("SELECT DISTINCT year FROM entries_plain")).scalars())
    current = today_in_business_tz().year
    first = current - partitions.YEARS_BACK
    for year in partitions.wanted_years(set(), data_years, current, partitions.YEARS_AHEAD, first):
        partitions.create_partition(conn, year)
    partitions.create_partition(conn, None)
    conn.execute(text("INSERT INTO entries SELECT * FROM entries_plain ORDER BY id"))
    conn.execute(text("ALTER TABLE entries ADD CONSTRAINT pk_entries PRIMARY KEY (id, year)"))
    conn.execute(
        text(
            "ALTER TABLE entries ADD CONSTRAINT uq_entries_person_seq UNIQUE (person_id, seq, year)"
        )
    )
    conn.execute(
        text(
            "CREATE UNIQUE INDEX ux_entries_reverses_id ON entries (reverses_id, year) "
            "WHERE reverses_id IS NOT NULL"
        )
    )
    conn.execute(
        text(
            "CREATE INDEX ix_entries_supersedes_id ON entries (supersedes_id) "
            "WHERE supersedes_id IS NOT NULL"
        )
    )
    conn.execute(text("DROP TABLE entries_plain"))
    conn.execute(text("ANALYZE entries"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    _put_aside(conn, "partitioned")
    _new_table(conn, "entries_partitioned", partitioned=False)
    conn.execute(text("INSERT INTO entries SELECT * FROM entries_partitioned ORDER BY id"))
    conn.execute(text("ALTER TABLE entries ADD CONSTRAINT pk_entries PRIMARY KEY (id)"))
    conn.execute(
        text("ALTER TABLE entries ADD CONSTRAINT uq_entries_person_seq UNIQUE (person_id, seq)")
    )
    conn.execute(
        text(
            "CREATE UNIQUE INDEX ux_entries_reverses_id ON entries (reverses_id) "
            "WHERE reverses_id IS NOT NULL"
        )
    )
    conn.execute(
        text(
            "CREATE INDEX ix_entries_supersedes_id ON entries (supersedes_id) "
            "WHERE supersedes_id IS NOT NULL"
        )
    )
    for fk, column in zip(_SELF_FKS, ("reverses_id", "supersedes_id"), strict=True):
        conn.execute(
            text(
                f"ALTER TABLE entries ADD CONSTRAINT {fk} FOREIGN KEY ({column}) REFERENCES entries (id)"
            )
        )
    _protect_parent(conn)
    conn.execute(text("DROP TABLE entries_partitioned"))
    conn.execute(text("ANALYZE entries"))
