"""sync state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

Cursors, runs, quarantined records and leases of the platform sync (ledger/sync/).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_cursors",
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_sync_cursors_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "sync_leases",
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_sync_leases_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_sync_leases")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", RUN_ID, autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("superseded", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_sync_runs_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index("ix_sync_runs_source_started", "sync_runs", ["source_id", "started_at"])
    op.create_table(
        "sync_quarantine",
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("record_key", sa.String(length=140), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("id_field", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("run_id", RUN_ID, nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_quarantine_run_id_sync_runs")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_sync_quarantine_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("source_id", "record_key", name=op.f("pk_sync_quarantine")),
    )
    op.create_index(
        "ix_sync_quarantine_source_cleared", "sync_quarantine", ["source_id", "cleared_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sync_quarantine_source_cleared", table_name="sync_quarantine")
    op.drop_table("sync_quarantine")
    op.drop_index("ix_sync_runs_source_started", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_table("sync_leases")
    op.drop_table("sync_cursors")
