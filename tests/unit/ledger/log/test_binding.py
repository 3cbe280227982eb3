"""Checking an attestation's ``log`` claim: its head proved in the token's tree, today's tree
extending it; each failure with its reason."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.log import notes
from ledger.log.binding import LogBindingError, check_log_binding
from tests import rfc6962_reference as ref

ORIGIN = "cehours.example/log"
KEY = ed25519.Ed25519PrivateKey.generate()
VERIFIER = notes.Verifier(ORIGIN, notes.NOTE_ED25519, KEY.public_key().public_bytes_raw())
CHAIN = [bytes([i]) * 32 for i in range(9)]  # chain hashes of entries 1..9
TREE = [ref.leaf(h) for h in CHAIN]


def claims(size: int, entry: int, tree: list[bytes] = TREE) -> dict[str, Any]:
    root = base64.b64encode(ref.mth(tree[:size])).decode()
    log = {
        "origin": ORIGIN,
        "tree_size": size,
        "root_hash": root,
        "entry_id": entry,
        "included": True,
    }
    return {"ledger": {"head": CHAIN[entry - 1].hex()}, "log": log}


def checkpoint(tree: list[bytes]) -> str:
    return notes.sign_note(notes.Checkpoint(ORIGIN, len(tree), ref.mth(tree)).text(), ORIGIN, KEY)


def fetchers(tree: list[bytes]):  # type: ignore[no-untyped-def]
    def inclusion(entry: int, size: int) -> dict[str, Any]:
        hashes = ref.path(entry - 1, tree[:size])
        return {"leaf_index": entry - 1, "hashes": [base64.b64encode(h).decode() for h in hashes]}

    return inclusion, lambda old, new: ref.proof(old, tree[:new])


def test_a_token_read_at_an_older_checkpoint_checks_against_today() -> None:
    assert check_log_binding(claims(5, 4), VERIFIER, checkpoint(TREE), *fetchers(TREE)) == 9
    assert check_log_binding(claims(9, 9), VERIFIER, checkpoint(TREE), *fetchers(TREE)) == 9


FORKED = [*TREE[:4], ref.leaf(b"forged"), *TREE[5:]]


@pytest.mark.parametrize(
    ("token", "served", "today", "reason"),
    [
        ({"ledger": {"head": "00" * 32}}, TREE, TREE, "log-missing"),
        (claims(5, 6), TREE, TREE, "log-inclusion"),  # entry 6 came after size 5
        (claims(5, 4), FORKED, FORKED, "log-inclusion"),  # the forked log cannot prove it
        (claims(5, 4), TREE, FORKED, "log-inconsistent"),  # proved, but the log forked since
        (claims(9, 4), TREE, TREE[:7], "log-inconsistent"),  # today's log is smaller
    ],
)
def test_a_binding_that_does_not_hold_is_refused(
    token: dict[str, Any], served: list[bytes], today: list[bytes], reason: str
) -> None:
    inclusion, _ = fetchers(served)
    _, consistency = fetchers(today)
    with pytest.raises(LogBindingError) as refused:
        check_log_binding(token, VERIFIER, checkpoint(today), inclusion, consistency)
    assert refused.value.reason == reason


def test_a_checkpoint_not_signed_by_the_pinned_key_is_refused() -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    forged = notes.sign_note(notes.Checkpoint(ORIGIN, 9, ref.mth(TREE)).text(), ORIGIN, other)
    with pytest.raises(LogBindingError) as refused:
        check_log_binding(claims(5, 4), VERIFIER, forged, *fetchers(TREE))
    assert refused.value.reason == "log-bad-checkpoint"
