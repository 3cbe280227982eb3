"""Hand-written SQL that makes a table append-only, on SQLite and PostgreSQL.

PostgreSQL triggers are enabled ``ALWAYS`` so that even a session in replica mode
(``session_replication_role = replica``) cannot slip an UPDATE, DELETE or TRUNCATE past them.
"""

from __future__ import annotations

from alembic import op


def make_append_only(table: str) -> None:
    """Install triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on ``table``."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
        return
    if dialect != "postgresql":
        raise NotImplementedError(f"append-only triggers for {dialect}")
    op.execute(
        f"""
        CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )
    op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_update_delete")
    op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")


def drop_append_only(table: str) -> None:
    """Remove what :func:`make_append_only` installed."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")


def make_undeletable(table: str, fixed: tuple[str, ...]) -> None:
    """Install triggers that refuse DELETE (and TRUNCATE on PostgreSQL) on ``table`` and any
    UPDATE that changes one of the ``fixed`` columns: rows others name without a foreign key
    stay where they are. Other updates pass, and on PostgreSQL never call the trigger function
    (its ``WHEN`` clause decides)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in fixed)
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_fixed_ids BEFORE UPDATE ON {table} WHEN {changed} "
            f"BEGIN SELECT RAISE(ABORT, '{table} ids never change'); END"
        )
        return
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


def drop_undeletable(table: str) -> None:
    """Remove what :func:`make_undeletable` installed."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_fixed_ids")
        return
    for name in ("no_delete", "fixed_ids", "no_truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {table}_keep_rows()")
