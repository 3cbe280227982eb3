"""index superseding credits

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

An explained evaluation finds, beside each reversal, the credit that superseded what it reversed
(``supersedes_id``). It went through ``uq_entries_record_version`` until 0005 dropped it; without
an index PostgreSQL scans ``entries`` for it. A partial index holds superseding credits only, so
ordinary appends do not write to it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_NULL = sa.text("supersedes_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_entries_supersedes_id",
        "entries",
        ["supersedes_id"],
        sqlite_where=_NOT_NULL,
        postgresql_where=_NOT_NULL,
    )


def downgrade() -> None:
    op.drop_index("ix_entries_supersedes_id", table_name="entries")
