"""RFC 6962 Merkle tree hashing, which stored subtrees make up a proof, and proof verification.

Pure functions, no storage (RFC 6962 section 2.1, RFC 9162 section 2.1):

- leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``, the empty
  tree's root ``SHA-256("")``;
- a *perfect node* ``(level, index)`` is the root of the complete subtree over leaves
  ``[index * 2**level, (index + 1) * 2**level)``; once the tree has grown past it, it never
  changes, so storage keeps exactly those (:mod:`ledger.log.tree`);
- any range ``[start, end)`` of the tree's recursive split is a few perfect nodes left to right
  (:func:`range_nodes`), folded from the right (:func:`fold_range`);
- :func:`inclusion_ranges` and :func:`consistency_ranges` are RFC 6962's ``PATH`` and ``PROOF``
  as the ranges whose hashes a proof lists, so a proof is O(log n) stored nodes;
- :func:`verify_inclusion` and :func:`verify_consistency` are RFC 9162's algorithms
  (sections 2.1.3.2 and 2.1.4.2), for the witness and ``cehours verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not prove what it claims (or is malformed)."""


class Node(NamedTuple):
    """A perfect subtree: its height above the leaves and its position at that height."""

    level: int
    idx: int


class Range(NamedTuple):
    """Leaves ``[start, end)``: one element of a proof is the hash of such a range."""

    start: int
    end: int


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1): where RFC 6962 splits."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect nodes that make up leaves ``[start, end)``, left to right (largest first,
    as the recursive split takes them)."""
    nodes = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start & ((1 << level) - 1):
            level -= 1
        nodes.append(Node(level, start >> level))
        start += 1 << level
    return nodes


def fold_range(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from the hashes of its :func:`range_nodes`, folded from the right."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """RFC 6962 ``PATH(index, D[0:size])`` as ranges, the leaf's sibling first.

    Raises:
        ProofError: ``index`` is not a leaf of a tree of ``size``.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append(Range(start + k, end))
            end = start + k
        else:
            ranges.append(Range(start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[Range]:
    """RFC 6962 ``PROOF(old, D[0:new])`` as ranges, deepest first.

    Raises:
        ProofError: not ``0 < old <= new``.
    """
    if not 0 < old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    ranges: list[Range] = []
    start, end, m, whole = 0, new, old, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append(Range(start + k, end))
            end = start + k
        else:
            ranges.append(Range(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append(Range(start, end))
    ranges.reverse()
    return ranges


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is not a {HASH_SIZE}-byte hash")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` and the leaf hash ``leaf`` give (RFC 9162 section 2.1.3.2).

    Raises:
        ProofError: the index is outside the tree, or the proof has the wrong length or shape.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    _check_hash("the leaf hash", leaf)
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        _check_hash("a proof hash", p)
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf hash ``leaf`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises:
        ProofError: it is not (or the proof is malformed).
    """
    _check_hash("the root", root)
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of size ``new`` with ``new_root`` extends the tree of size ``old``
    with ``old_root`` (RFC 9162 section 2.1.4.2).

    A tree of size 0 must have the empty tree's root; a proof from size 0 proves nothing, so it
    is refused, as is any proof that is not exactly the expected length.

    Raises:
        ProofError: it does not (or the proof is malformed, or the sizes make no sense).
    """
    if not 0 <= old <= new:
        raise ProofError(f"size {old} cannot grow into size {new}")
    if old == 0:
        # Any tree extends the empty one, so a "proof" from it carries no information.
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old == new:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if old_root != new_root:
            raise ProofError("equal sizes with different roots: the log forked")
        return  # nothing to prove: the same tree (its roots need not even be well formed)
    _check_hash("the old root", old_root)
    _check_hash("the new root", new_root)
    if not proof:
        raise ProofError("the proof is empty")
    for p in proof:
        _check_hash("a proof hash", p)
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node of the path
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than it should be")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than it should be")
    if fr != old_root:
        raise ProofError("the proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("the proof does not lead to the new root")
