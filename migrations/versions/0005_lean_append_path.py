"""lean append path

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Fewer index and foreign-key writes per appended entry (docs/scaling.md, "What an append writes"):

- ``entries``: ``ix_entries_person_year`` goes (``uq_entries_person_seq`` serves every per-person
  read); ``uq_entries_record_version`` goes (the primary key of ``records``, written in the same
  transaction, already admits one head per platform record, and versions only grow under its row
  lock); the unique index on ``reverses_id`` becomes partial, so credits, which reverse nothing,
  are not indexed; the foreign keys to ``people`` and ``sources`` go.
- ``records`` and ``balances`` (derived from entries, rebuilt and checked by
  ``cehours ledger verify``) lose their foreign keys, and ``records`` its unused person index.

On PostgreSQL every foreign-key check on the append path took a ``FOR KEY SHARE`` lock on the
person's or the source's row, a heap write per entry that cost more than the entry itself. In their
place, rows of ``people`` and ``sources`` can no longer be deleted, nor their ids changed (triggers
below), and ``cehours ledger verify`` reports any entry, record or balance naming a person or a
source that does not exist.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.append_only import (
    drop_append_only,
    drop_undeletable,
    make_append_only,
    make_undeletable,
)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_NULL = sa.text("reverses_id IS NOT NULL")
_DERIVED_FKS = {
    "records": (
        ("fk_records_source_id_sources", ["source_id"], "sources", ["id"]),
        ("fk_records_person_id_people", ["person_id"], "people", ["id"]),
        ("fk_records_entry_id_entries", ["entry_id"], "entries", ["id"]),
    ),
    "balances": (
        ("fk_balances_person_id_people", ["person_id"], "people", ["id"]),
        ("fk_balances_source_id_sources", ["source_id"], "sources", ["id"]),
    ),
}
_PARENTS = {"people": ("id", "id_number"), "sources": ("id",)}
_ENTRY_FKS = (
    ("fk_entries_person_id_people", ["person_id"], "people", ["id"]),
    ("fk_entries_source_id_sources", ["source_id"], "sources", ["id"]),
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("entries") as batch:
        batch.drop_index("ix_entries_person_year")
        batch.drop_constraint("uq_entries_record_version", type_="unique")
        batch.drop_constraint("uq_entries_reverses_id", type_="unique")
        for name, *_ in _ENTRY_FKS:
            batch.drop_constraint(name, type_="foreignkey")
    if sqlite:
        # The rebuild above dropped the table's triggers with the old table.
        drop_append_only("entries")
        make_append_only("entries")
    op.create_index(
        "ux_entries_reverses_id",
        "entries",
        ["reverses_id"],
        unique=True,
        sqlite_where=_NOT_NULL,
        postgresql_where=_NOT_NULL,
    )
    with op.batch_alter_table("records") as batch:
        batch.drop_index("ix_records_person_id")
    for table, fks in _DERIVED_FKS.items():
        with op.batch_alter_table(table) as batch:
            for name, *_ in fks:
                batch.drop_constraint(name, type_="foreignkey")
    for table, fixed in _PARENTS.items():
        make_undeletable(table, fixed)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in _PARENTS:
        drop_undeletable(table)
    for table, fks in _DERIVED_FKS.items():
        with op.batch_alter_table(table) as batch:
            for name, columns, parent, keys in fks:
                batch.create_foreign_key(name, parent, columns, keys)
    with op.batch_alter_table("records") as batch:
        batch.create_index("ix_records_person_id", ["person_id"], unique=False)
    op.drop_index("ux_entries_reverses_id", table_name="entries")
    with op.batch_alter_table("entries") as batch:
        for name, columns, parent, keys in _ENTRY_FKS:
            batch.create_foreign_key(name, parent, columns, keys)
        batch.create_unique_constraint("uq_entries_reverses_id", ["reverses_id"])
        batch.create_unique_constraint(
            "uq_entries_record_version", ["source_id", "external_id", "record_version", "kind"]
        )
        batch.create_index("ix_entries_person_year", ["person_id", "year"], unique=False)
    if sqlite:
        drop_append_only("entries")
        make_append_only("entries")
