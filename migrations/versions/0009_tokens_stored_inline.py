"""tokens stored inline

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

An attestation's row holds its signed token, about 3 kB (more when it counted many entries).
PostgreSQL's default is to compress any row above about 2 kB and, since a JWS hardly
compresses, to move the token out of line into the TOAST table: every issuance then wrote two
chunk rows and their index entries besides the attestation, and paid for a compression attempt
that saved about 5%. With ``STORAGE EXTERNAL`` (never compressed) and ``toast_tuple_target``
raised to a page's worth, tokens up to about 8 kB stay in the row; only a larger one goes out
of line, uncompressed. PostgreSQL only: SQLite stores rows as they come.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The largest toast_tuple_target PostgreSQL accepts (TOAST_TUPLE_TARGET_MAIN, 8 kB pages).
INLINE_UP_TO = 8160


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE attestations ALTER COLUMN token SET STORAGE EXTERNAL")
        op.execute(f"ALTER TABLE attestations SET (toast_tuple_target = {INLINE_UP_TO})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE attestations RESET (toast_tuple_target)")
        op.execute("ALTER TABLE attestations ALTER COLUMN token SET STORAGE EXTENDED")
