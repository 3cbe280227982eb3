"""status lists: each attestation's place in an IETF Token Status List

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

``attestations.status_position`` is where an attestation's 2-bit status sits: list
``position // 2**20 + 1``, index scattered within that list (``ledger.attestations.status_bits``).
It is given at issuance, before signing (the token's ``status`` claim names it), and never
changes; attestations issued before this revision have none. The partial index holds only the
attestations whose status is not ``valid`` (the bits that are not zero), so building a list
reads those alone.

On PostgreSQL positions come from the sequence ``status_list_positions`` (no lock shared by
concurrent issuances); on SQLite, where writers take turns anyway, from the largest position
held plus one.

``status_lists`` holds one row per list: ``version`` goes up in the same transaction as any
change of the bits of that list (a stale or revoked attestation), which is how a server knows
that the list token it built before is still right. Rows are never deleted and ids never
change (triggers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.append_only import drop_undeletable, make_undeletable

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOT_VALID = "status <> 'valid'"


def upgrade() -> None:
    op.add_column("attestations", sa.Column("status_position", POSITION, nullable=True))
    op.create_index(
        "uq_attestations_status_position", "attestations", ["status_position"], unique=True
    )
    op.create_index(
        "ix_attestations_changed_positions",
        "attestations",
        ["status_position"],
        unique=False,
        sqlite_where=sa.text(NOT_VALID),
        postgresql_where=sa.text(NOT_VALID),
    )
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
    )
    make_undeletable("status_lists", ("id",))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE status_list_positions AS bigint MINVALUE 0 START 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS status_list_positions")
    drop_undeletable("status_lists")
    op.drop_table("status_lists")
    op.drop_index("ix_attestations_changed_positions", table_name="attestations")
    op.drop_index("uq_attestations_status_position", table_name="attestations")
    with op.batch_alter_table("attestations") as batch:
        batch.drop_column("status_position")
