"""The proofs the log gives anyone: an entry's inclusion in a tree, and a tree's consistency with
an earlier one. Nothing personal is in either: entry ids, sizes and hashes only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ledger.db import fast
from ledger.db.transactions import read_transaction
from ledger.errors import LogError, NotInLogError
from ledger.log.merkle import ProofError, Range, inclusion_ranges
from ledger.log.tables import LogCheckpoint, LogHead, LogLeaf
from ledger.log.tree import consistency_proof, hash_ranges

_NO_ID = 2**63  # no entry id (a 64-bit signed integer) is this large


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Entry ``entry_id`` is leaf ``leaf_index`` of the tree of ``tree_size``."""

    entry_id: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of size ``to`` extends the tree of size ``from_size``."""

    from_size: int
    to: int
    hashes: list[bytes]


# Built once: building a statement costs more than running it here.
class _One(NamedTuple):
    value: int


# Built once and run on the driver (ledger.db.fast): a proof is a few keyed reads, and the
# session's execution layers cost more than the database does here.
_LATEST_CHECKPOINT = fast.Query(
    select(LogCheckpoint.tree_size).order_by(LogCheckpoint.tree_size.desc()).limit(1), _One
)
_SIZE = fast.Query(select(LogHead.tree_size).order_by(LogHead.tree_size.desc()).limit(1), _One)
_LEAF = fast.Query(
    select(LogLeaf.leaf_index).where(LogLeaf.entry_id == bindparam("entry_id")), _One
)


def _value(session: Session, query: fast.Query[_One], params: dict[str, int]) -> int | None:
    rows = fast.fetch(session, query, params)
    return rows[0].value if rows else None


def _tree_size(session: Session) -> int:
    return _value(session, _SIZE, {}) or 0


def _check_size(name: str, size: int, limit: int) -> None:
    if not 1 <= size <= limit:
        raise LogError(f"{name} must be from 1 to the log's size, {limit}; it is {size}")


def prove_inclusion(session: Session, entry_id: int, tree_size: int | None) -> InclusionProof:
    """The inclusion proof of an entry in the tree of ``tree_size`` (None: the latest signed
    checkpoint's).

    Raises:
        NotInLogError: the entry is not a leaf (unknown, or not integrated yet), or no
            checkpoint exists to default to.
        LogError: the size is outside the log, or the entry came after it.
    """
    with read_transaction(session):
        if tree_size is None:
            tree_size = _value(session, _LATEST_CHECKPOINT, {})
            if not tree_size:
                raise NotInLogError("no checkpoint has been signed yet")
        _check_size("tree_size", tree_size, _tree_size(session))
        if not 1 <= entry_id < _NO_ID:
            raise NotInLogError(f"entry {entry_id} is not in the log")
        index = _value(session, _LEAF, {"entry_id": entry_id})
        if index is None:
            raise NotInLogError(f"entry {entry_id} is not in the log (yet)")
        if index >= tree_size:
            raise LogError(
                f"entry {entry_id} is leaf {index}, added after the tree had {tree_size} leaves"
            )
        try:
            # The leaf's own hash is one more range of the same read.
            *hashes, leaf = hash_ranges(
                session, [*inclusion_ranges(index, tree_size), Range(index, index + 1)]
            )
        except ProofError as exc:
            raise LogError(str(exc)) from None
    return InclusionProof(entry_id, index, tree_size, leaf, hashes)


def prove_consistency(session: Session, old: int, new: int) -> ConsistencyProof:
    """The consistency proof from the tree of size ``old`` to the tree of size ``new``.

    Raises:
        LogError: not ``1 <= old <= new <= the log's size``.
    """
    with read_transaction(session):
        size = _tree_size(session)
        _check_size("from", old, size)
        _check_size("to", new, size)
        if old > new:
            raise LogError(f"from ({old}) is larger than to ({new})")
        hashes = consistency_proof(session, old, new) if old < new else []
    return ConsistencyProof(old, new, hashes)
