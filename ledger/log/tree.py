"""The Merkle tree in the database: perfect nodes read and written, roots and proofs from them.

Storage keeps every perfect node (:mod:`ledger.log.merkle`), level 0 being the leaf hashes, so
a root or a proof of any size the tree has reached is O(log n) nodes read by primary key in one
statement. Appending leaves writes the leaves, the perfect nodes they complete and a tree head;
nothing already stored is ever changed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from ledger.db import fast
from ledger.log.merkle import (
    Node,
    Range,
    consistency_ranges,
    fold_range,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    range_nodes,
)
from ledger.log.tables import LOG_HEADS, LOG_LEAVES, LOG_NODES, LogHead, LogNode

_CHUNK = 200  # node keys a statement (two parameters a key)


class Head(NamedTuple):
    """The tree's latest head: its size, root and the last entry it took (0: none)."""

    tree_size: int
    root_hash: bytes
    last_entry_id: int


class Node3(NamedTuple):
    """A ``log_nodes`` row."""

    level: int
    idx: int
    hash: bytes


class MissingNodeError(LookupError):
    """A node the tree should hold is not stored (the tree was truncated or damaged)."""


_LATEST = (
    select(LogHead.tree_size, LogHead.root_hash, LogHead.last_entry_id)
    .order_by(LogHead.tree_size.desc())
    .limit(1)
)


def latest_head(session: Session) -> Head | None:
    """The newest tree head, or None before the first integration."""
    row = session.execute(_LATEST).first()
    return Head(row.tree_size, bytes(row.root_hash), row.last_entry_id) if row else None


@functools.cache
def _nodes_query(n: int) -> fast.Query[Node3]:
    """The read of ``n`` nodes, built once per count and run on the driver
    (:mod:`ledger.db.fast`): building it from expressions, then running it through the session,
    cost more than the database (about 8 ms of a 10 ms proof at 10 million leaves, then 2 of
    2.5). One equality pair per node, OR-ed: both databases look each up by the primary key
    (SQLite scans the whole table for a row-value IN list)."""
    pairs = (
        (LogNode.level == bindparam(f"l{i}")) & (LogNode.idx == bindparam(f"i{i}"))
        for i in range(n)
    )
    return fast.Query(select(LogNode.level, LogNode.idx, LogNode.hash).where(or_(*pairs)), Node3)


def stored_nodes(session: Session, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of those of ``nodes`` that are stored."""
    wanted = sorted(set(nodes))
    found: dict[Node, bytes] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        params = {}
        for i, n in enumerate(chunk):
            params[f"l{i}"], params[f"i{i}"] = n.level, n.idx
        rows = fast.fetch(session, _nodes_query(len(chunk)), params)
        found.update({Node(level, idx): bytes(h) for level, idx, h in rows})
    return found


def read_nodes(session: Session, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``nodes``.

    Raises:
        MissingNodeError: one of them is not stored.
    """
    wanted = set(nodes)
    found = stored_nodes(session, wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        raise MissingNodeError(
            f"the tree holds no node at level {missing[0].level}, index {missing[0].idx}"
        )
    return found


def hash_ranges(session: Session, ranges: Sequence[Range]) -> list[bytes]:
    """The hash of each range, from its perfect nodes (all read in one statement or a few).

    Raises:
        MissingNodeError: a node is not stored.
    """
    parts = [range_nodes(r.start, r.end) for r in ranges]
    stored = read_nodes(session, (n for nodes in parts for n in nodes))
    return [fold_range([stored[n] for n in nodes]) for nodes in parts]


def root_at(session: Session, size: int) -> bytes:
    """The root of the tree when it had ``size`` leaves (``size`` <= its size now).

    Raises:
        MissingNodeError: a node is not stored.
    """
    return hash_ranges(session, [Range(0, size)])[0] if size else fold_range([])


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    """RFC 6962 inclusion proof of leaf ``index`` in the tree of ``size``.

    Raises:
        ProofError: the index is not in a tree of that size.
        MissingNodeError: a node is not stored.
    """
    return hash_ranges(session, inclusion_ranges(index, size))


def consistency_proof(session: Session, old: int, new: int) -> list[bytes]:
    """RFC 6962 consistency proof from the tree of size ``old`` to the one of size ``new``.

    Raises:
        ProofError: not ``0 < old <= new``.
        MissingNodeError: a node is not stored.
    """
    return hash_ranges(session, consistency_ranges(old, new))


class Grown(NamedTuple):
    """What appending leaves adds: new nodes (leaves included) and the new root."""

    nodes: list[tuple[int, int, bytes]]
    root: bytes


def grow(frontier: Sequence[bytes], size: int, leaves: Sequence[bytes]) -> Grown:
    """Append leaf hashes to a tree of ``size`` whose :func:`range_nodes` over ``[0, size)``
    have ``frontier`` hashes: every perfect node completed (leaves included) and the root."""
    stack = [(n.level, n.idx, h) for n, h in zip(range_nodes(0, size), frontier, strict=True)]
    nodes: list[tuple[int, int, bytes]] = []
    position = size
    for leaf in leaves:
        level, index, h = 0, position, leaf
        nodes.append((level, index, h))
        while stack and stack[-1][0] == level:
            _, left_index, left = stack.pop()
            level, index, h = level + 1, left_index >> 1, node_hash(left, h)
            nodes.append((level, index, h))
        stack.append((level, index, h))
        position += 1
    return Grown(nodes, fold_range([h for _, _, h in stack]))


class LeafRow(NamedTuple):
    leaf_index: int
    entry_id: int


class NodeRow(NamedTuple):
    level: int
    idx: int
    hash: bytes


class HeadRow(NamedTuple):
    tree_size: int
    root_hash: bytes
    last_entry_id: int
    integrated_at: dt.datetime


class Planned(NamedTuple):
    """Leaves to append, computed from a head without holding a write lock."""

    head: Head | None
    leaves: list[LeafRow]
    nodes: list[NodeRow]
    new: Head


def plan_leaves(
    session: Session, head: Head | None, entries: Sequence[tuple[int, bytes]]
) -> Planned:
    """The leaves, nodes and head that appending entries ``(entry id, 32-byte chain hash)``, in
    id order, to the tree at ``head`` makes (reads the frontier; writes nothing).

    Raises:
        MissingNodeError: the stored tree lacks a node of its own frontier.
    """
    size = head.tree_size if head else 0
    frontier_nodes = range_nodes(0, size)
    stored = read_nodes(session, frontier_nodes)
    grown = grow([stored[n] for n in frontier_nodes], size, [leaf_hash(h) for _, h in entries])
    leaves = [LeafRow(size + i, e) for i, (e, _) in enumerate(entries)]
    nodes = [NodeRow(*n) for n in grown.nodes]
    return Planned(head, leaves, nodes, Head(size + len(entries), grown.root, entries[-1][0]))


def write_planned(session: Session, planned: Planned, now: dt.datetime) -> Head:
    """Write planned leaves, nodes and head, in the caller's write transaction."""
    fast.insert_rows(session, LOG_LEAVES, planned.leaves)
    fast.insert_rows(session, LOG_NODES, planned.nodes)
    fast.insert_rows(session, LOG_HEADS, [HeadRow(*planned.new, now)])
    return planned.new


def append_leaves(
    session: Session, head: Head | None, entries: Sequence[tuple[int, bytes]], now: dt.datetime
) -> Head:
    """Append entries ``(entry id, 32-byte chain hash)``, in id order, as the next leaves; write
    their leaves, the nodes they complete and the new head, in the caller's transaction.

    Raises:
        MissingNodeError: the stored tree lacks a node of its own frontier.
    """
    return write_planned(session, plan_leaves(session, head, entries), now)
