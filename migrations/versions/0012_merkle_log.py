"""merkle log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

The tamper-evident log (RFC 6962 Merkle tree over every entry, C2SP checkpoints): which entry is
which leaf, the hash of every perfect subtree (level 0: the leaf hashes), the tree head after
each integration, the signed checkpoints, the checkpoint signing keys (private key sealed under
the key-encryption key), witnesses' cosignatures and the checkpoints ``ledger verify`` found
sound (where ``--since-checkpoint`` starts). All but the keys are append-only.
``log_nodes`` is a WITHOUT ROWID table on SQLite: it is read and written by its key only, and a
rowid table would store every key twice (about 2 rows a leaf).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.append_only import drop_append_only, make_append_only

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = (
    "log_leaves",
    "log_nodes",
    "log_heads",
    "log_checkpoints",
    "log_cosignatures",
    "log_audits",
)


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column("leaf_index", BIG, autoincrement=False, nullable=False),
        sa.Column("entry_id", BIG, nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_log_leaves")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_log_leaves_entry_id")),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", BIG, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_nodes")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "log_heads",
        sa.Column("tree_size", BIG, autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("last_entry_id", BIG, nullable=False),
        sa.Column("integrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_log_heads")),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("tree_size", BIG, autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_log_checkpoints")),
    )
    op.create_table(
        "log_keys",
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_log_keys")),
    )
    op.create_index(op.f("ix_log_keys_name"), "log_keys", ["name"], unique=False)
    op.create_table(
        "log_cosignatures",
        sa.Column("tree_size", BIG, autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", "witness", "key_id", name=op.f("pk_log_cosignatures")),
    )
    op.create_table(
        "log_audits",
        sa.Column("tree_size", BIG, autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_log_audits")),
    )
    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    op.drop_table("log_audits")
    op.drop_table("log_cosignatures")
    op.drop_index(op.f("ix_log_keys_name"), table_name="log_keys")
    op.drop_table("log_keys")
    op.drop_table("log_checkpoints")
    op.drop_table("log_heads")
    op.drop_table("log_nodes")
    op.drop_table("log_leaves")
