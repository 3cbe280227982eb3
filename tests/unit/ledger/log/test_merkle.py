"""RFC 6962 hashing and proofs: the public vectors, and agreement with an independent
implementation (tests/rfc6962_reference.py) on every size up to 70."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.log import merkle
from ledger.log.tree import grow
from tests import rfc6962_reference as ref

VECTORS = Path(__file__).resolve().parents[5] / "shared" / "vectors" / "rfc6962" / "testdata"


def _cases(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


def _b(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b(h) for h in case["proof"] or []]


def test_the_vectors_are_there() -> None:
    assert len(_cases("inclusion")) > 50
    assert len(_cases("consistency")) > 50


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vector(case: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_inclusion(
            case["leafIdx"], case["treeSize"], _b(case["leafHash"]), _proof(case), _b(case["root"])
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vector(case: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_consistency(
            case["size1"], case["size2"], _b(case["root1"]), _b(case["root2"]), _proof(case)
        )

    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


LEAVES = [ref.leaf(f"entry {i}".encode()) for i in range(70)]


def _hash_ranges(leaves: list[bytes], ranges: list[merkle.Range]) -> list[bytes]:
    """The service's way: each range from its perfect nodes, each node from the reference."""
    out = []
    for r in ranges:
        nodes = merkle.range_nodes(r.start, r.end)
        out.append(
            merkle.fold_range(
                [ref.mth(leaves[n.idx << n.level : (n.idx + 1) << n.level]) for n in nodes]
            )
        )
    return out


@pytest.mark.parametrize("size", range(1, 71))
def test_proofs_agree_with_the_reference(size: int) -> None:
    leaves = LEAVES[:size]
    root = ref.mth(leaves)
    assert merkle.fold_range(_hash_ranges(leaves, [merkle.Range(0, size)])) == root
    for m in range(size):
        proof = _hash_ranges(leaves, merkle.inclusion_ranges(m, size))
        assert proof == ref.path(m, leaves)
        assert ref.includes(m, size, leaves[m], proof, root)
        merkle.verify_inclusion(m, size, leaves[m], proof, root)
    for old in range(1, size + 1):
        proof = _hash_ranges(leaves, merkle.consistency_ranges(old, size))
        assert proof == ref.proof(old, leaves)
        merkle.verify_consistency(old, size, ref.mth(leaves[:old]), root, proof)


def test_growing_a_tree_leaf_by_leaf_gives_every_perfect_node_and_the_root() -> None:
    nodes: dict[tuple[int, int], bytes] = {}
    size = 0
    for chunk in (1, 2, 5, 8, 13, 41):
        frontier = [nodes[tuple(n)] for n in merkle.range_nodes(0, size)]
        grown = grow(frontier, size, LEAVES[size : size + chunk])
        nodes.update({(lv, ix): h for lv, ix, h in grown.nodes})
        size += chunk
        assert grown.root == ref.mth(LEAVES[:size])
    for (level, index), h in nodes.items():
        assert h == ref.mth(LEAVES[index << level : (index + 1) << level])
    assert len(nodes) == sum(size >> level for level in range(size.bit_length()))


def test_a_proof_for_another_leaf_or_size_is_refused() -> None:
    leaves = LEAVES[:11]
    proof = _hash_ranges(leaves, merkle.inclusion_ranges(4, 11))
    root = ref.mth(leaves)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(5, 11, leaves[4], proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(4, 5, leaves[4], proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(4, 11, leaves[5], proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_ranges(11, 11)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_ranges(0, 3)
