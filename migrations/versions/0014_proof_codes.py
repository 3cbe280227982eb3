"""proof codes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

The short verification code printed beside a proof's QR code (``ledger.attestations.codes``):
one per attestation that was printed, unique, append-only, so that a code on paper always names
the same attestation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.append_only import drop_append_only, make_append_only

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proof_codes",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["jti"], ["attestations.jti"], name=op.f("fk_proof_codes_jti_attestations")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_proof_codes")),
        sa.UniqueConstraint("jti", name=op.f("uq_proof_codes_jti")),
    )
    make_append_only("proof_codes")


def downgrade() -> None:
    drop_append_only("proof_codes")
    op.drop_table("proof_codes")
