"""The log's tables: leaves, the tree's perfect nodes, tree heads, checkpoints, keys, cosignatures.

Every table but ``log_keys`` is append-only (triggers in migration ``0012``): a
perfect node never changes once the tree has grown past it, and a tree head, checkpoint or
cosignature is a statement made once. Hashes are stored as their 32 bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db.base import Base
from ledger.db.types import EntryId, UTCDateTime

LeafIndex = BigInteger().with_variant(Integer(), "sqlite")


class LogLeaf(Base):
    """Leaf ``leaf_index`` of the tree is the entry ``entry_id`` (entries in id order)."""

    __tablename__ = "log_leaves"

    leaf_index: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(EntryId, unique=True)


class LogNode(Base):
    """The hash of a perfect subtree: ``level`` 0 is a leaf hash, ``level`` L the root over
    leaves ``[idx * 2**L, (idx + 1) * 2**L)``. Stored once the tree covers it."""

    __tablename__ = "log_nodes"
    # Read and written by its key only: on SQLite the key is the table (migration 0012).
    __table_args__ = ({"sqlite_with_rowid": False},)

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogHead(Base):
    """The tree after one integration: its size, root and the last entry it took."""

    __tablename__ = "log_heads"

    tree_size: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_entry_id: Mapped[int] = mapped_column(EntryId)
    integrated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LogCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) of the tree at ``tree_size``."""

    __tablename__ = "log_checkpoints"

    tree_size: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    origin: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LogKey(Base):
    """A checkpoint signing key (Ed25519): public key in clear, private key sealed under the
    key-encryption key, as attestation signing keys are. The newest of a name signs."""

    __tablename__ = "log_keys"

    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class LogCosignature(Base):
    """A witness's cosignature (C2SP tlog-cosignature) of the checkpoint at ``tree_size``."""

    __tablename__ = "log_cosignatures"

    tree_size: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    cosigned_at: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LogAudit(Base):
    """A checkpoint ``cehours ledger verify`` found the log and ledger agreeing up to: where
    ``--since-checkpoint`` starts next time."""

    __tablename__ = "log_audits"

    tree_size: Mapped[int] = mapped_column(LeafIndex, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


LOG_LEAVES = cast(Table, LogLeaf.__table__)
LOG_NODES = cast(Table, LogNode.__table__)
LOG_HEADS = cast(Table, LogHead.__table__)
APPEND_ONLY = (
    "log_leaves",
    "log_nodes",
    "log_heads",
    "log_checkpoints",
    "log_cosignatures",
    "log_audits",
)
