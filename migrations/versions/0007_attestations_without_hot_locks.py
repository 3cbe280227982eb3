"""attestations without hot locks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

Two foreign keys made every issuance lock rows other issuances need (on PostgreSQL a foreign-key
check is a ``SELECT ... FOR KEY SHARE`` of the parent row):

- ``attestations.kid`` → ``signing_keys``: every issuance locked the one active key's row, so
  concurrent issuances queued on it. Signing keys are now never deleted and keep their kid
  (triggers), which is all the key guaranteed: keys are retired, never removed, since a retired
  key still verifies the tokens it signed.
- ``attestation_entries.entry_id`` → ``entries``: one lock per counted entry. Entries are
  append-only (triggers since 0001), and the ids come from the evaluation that read them in the
  same transaction.
"""

from collections.abc import Sequence

from alembic import op

from migrations.append_only import drop_undeletable, make_undeletable

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FKS = (
    ("attestations", "fk_attestations_kid_signing_keys", ["kid"], "signing_keys", ["kid"]),
    (
        "attestation_entries",
        "fk_attestation_entries_entry_id_entries",
        ["entry_id"],
        "entries",
        ["id"],
    ),
)


def upgrade() -> None:
    for table, name, *_ in _FKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")
    make_undeletable("signing_keys", ("kid",))


def downgrade() -> None:
    drop_undeletable("signing_keys")
    for table, name, columns, parent, keys in _FKS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, parent, columns, keys)
