"""attestations and signing keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Signing keys (public JWK in clear, private key sealed under the key-encryption key), issued
attestations with their status, the entries each counted (indexed by entry so that a reversal
finds them with one join), and the append-only audit trail of issuances and status changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.append_only import drop_append_only, make_append_only

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTRY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotated_by", sa.String(length=128), nullable=True),
        sa.Column("publish_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sa.String(length=128), nullable=True),
        sa.Column("retired_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_index(op.f("ix_signing_keys_status"), "signing_keys", ["status"], unique=False)
    # At most one active key (two servers creating a development key at once cannot both win).
    op.create_index(
        "uq_signing_keys_one_active",
        "signing_keys",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "attestations",
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("profile_version", sa.String(length=32), nullable=False),
        sa.Column("profile_digest", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("application_ref", sa.String(length=128), nullable=True),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=128), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kid"], ["signing_keys.kid"], name=op.f("fk_attestations_kid_signing_keys")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_attestations_person_id_people")
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_attestations")),
    )
    op.create_index(op.f("ix_attestations_kid"), "attestations", ["kid"], unique=False)
    op.create_index(op.f("ix_attestations_person_id"), "attestations", ["person_id"], unique=False)
    op.create_table(
        "attestation_entries",
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("entry_id", ENTRY_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name=op.f("fk_attestation_entries_entry_id_entries")
        ),
        sa.ForeignKeyConstraint(
            ["jti"], ["attestations.jti"], name=op.f("fk_attestation_entries_jti_attestations")
        ),
        sa.PrimaryKeyConstraint("jti", "entry_id", name=op.f("pk_attestation_entries")),
    )
    op.create_index(
        op.f("ix_attestation_entries_entry_id"), "attestation_entries", ["entry_id"], unique=False
    )
    op.create_table(
        "attestation_events",
        sa.Column("id", ENTRY_ID, autoincrement=True, nullable=False),
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["jti"], ["attestations.jti"], name=op.f("fk_attestation_events_jti_attestations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestation_events")),
    )
    op.create_index(op.f("ix_attestation_events_jti"), "attestation_events", ["jti"], unique=False)
    make_append_only("attestation_events")


def downgrade() -> None:
    drop_append_only("attestation_events")
    op.drop_index(op.f("ix_attestation_events_jti"), table_name="attestation_events")
    op.drop_table("attestation_events")
    op.drop_index(op.f("ix_attestation_entries_entry_id"), table_name="attestation_entries")
    op.drop_table("attestation_entries")
    op.drop_index(op.f("ix_attestations_person_id"), table_name="attestations")
    op.drop_index(op.f("ix_attestations_kid"), table_name="attestations")
    op.drop_table("attestations")
    op.drop_index("uq_signing_keys_one_active", table_name="signing_keys")
    op.drop_index(op.f("ix_signing_keys_status"), table_name="signing_keys")
    op.drop_table("signing_keys")
