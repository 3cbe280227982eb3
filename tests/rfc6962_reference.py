"""An independent RFC 6962 implementation, for checking the service's proofs in tests.

Written from RFC 6962 section 2.1 directly and on purpose naively (recursive definitions over
the list of leaves, no stored nodes, nothing shared with ``ledger.log``): MTH, PATH and PROOF as
the RFC states them, and verification by rebuilding the root from a proof the same recursive
way (the RFC's section 2.1.1 and 2.1.2 "verification" reading, not RFC 9162's bit loop the
service uses).
"""

from __future__ import annotations

import hashlib


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def k_of(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf *hashes* (already leaf-hashed)."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = k_of(n)
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = k_of(n)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = k_of(n)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n])."""
    return subproof(m, leaves, True)


def root_from_path(m: int, n: int, leaf_hash: bytes, audit: list[bytes]) -> bytes | None:
    """Rebuild MTH(D[n]) from leaf m's hash and PATH(m, D[n]), following PATH's recursion."""
    if n == 1:
        return leaf_hash if not audit else None
    if not audit:
        return None
    k = k_of(n)
    *rest, last = audit
    if m < k:
        inner = root_from_path(m, k, leaf_hash, rest)
        return None if inner is None else sha256(b"\x01" + inner + last)
    inner = root_from_path(m - k, n - k, leaf_hash, rest)
    return None if inner is None else sha256(b"\x01" + last + inner)


def includes(m: int, n: int, leaf_hash: bytes, audit: list[bytes], root: bytes) -> bool:
    return 0 <= m < n and root_from_path(m, n, leaf_hash, list(audit)) == root
