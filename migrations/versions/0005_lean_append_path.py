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

from migrations.append_only import drop_append_only, make_append_only

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
    _protect_parents(sqlite)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _unprotect_parents(sqlite)
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


def _protect_parents(sqlite: bool) -> None:
    """Rows of people and sources are never deleted and keep their ids."""
    for table, fixed in (("people", ("id", "id_number")), ("sources", ("id",))):
        if sqlite:
            changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in fixed)
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
            )
            op.execute(
                f"CREATE TRIGGER {table}_fixed_ids BEFORE UPDATE ON {table} WHEN {changed} "
                f"BEGIN SELECT RAISE(ABORT, '{table} ids never change'); END"
            )
            continue
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in fixed)
        op.execute(
            f"""
            CREATE FUNCTION {table}_keep_rows() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{table}: % refused (rows are never deleted, ids never change)',
                    TG_OP USING ERRCODE = 'insufficient_privilege';
            END $$
            """
        )
        # The WHEN clause keeps the function off the append path's update of chain heads.
        triggers = {
            f"{table}_no_delete": "BEFORE DELETE ON {t} FOR EACH ROW",
            f"{table}_fixed_ids": f"BEFORE UPDATE ON {{t}} FOR EACH ROW WHEN ({changed})",
            f"{table}_no_truncate": "BEFORE TRUNCATE ON {t} FOR EACH STATEMENT",
        }
        for name, when in triggers.items():
            op.execute(
                f"CREATE TRIGGER {name} {when.format(t=table)} EXECUTE FUNCTION {table}_keep_rows()"
            )
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")


def _unprotect_parents(sqlite: bool) -> None:
    for table in ("people", "sources"):
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fixed_ids")
            continue
        for name in ("no_delete", "fixed_ids", "no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_keep_rows()")
