"""The witness's judgement: cosign growth it can verify, raise the alarm on a rollback, a fork
or a checkpoint not signed by the log's key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.log import notes
from ledger.log.witness import WitnessAlarm, cosigner, judge, state_of
from tests import rfc6962_reference as ref

ORIGIN = "cehours.example/log"
LOG = ed25519.Ed25519PrivateKey.generate()
LOG_KEY = notes.Verifier(ORIGIN, notes.NOTE_ED25519, LOG.public_key().public_bytes_raw())
WITNESS = ed25519.Ed25519PrivateKey.generate()
SIGN = cosigner("audit.example/w1", WITNESS, lambda: 1_700_000_000)


def leaves(tag: str, n: int) -> list[bytes]:
    return [ref.leaf(f"{tag} {i}".encode()) for i in range(n)]


def checkpoint(tree: list[bytes], key: ed25519.Ed25519PrivateKey = LOG) -> str:
    text = notes.Checkpoint(ORIGIN, len(tree), ref.mth(tree)).text()
    return notes.sign_note(text, ORIGIN, key)


def prover(tree: list[bytes]):  # type: ignore[no-untyped-def]
    return lambda old, new: ref.proof(old, tree[:new])


def test_the_first_checkpoint_is_cosigned_and_growth_after_it_too() -> None:
    tree = leaves("a", 13)
    first = judge(checkpoint(tree[:5]), LOG_KEY, None, prover(tree), SIGN)
    assert first.cosignature is not None
    state = state_of(first)
    grown = judge(checkpoint(tree), LOG_KEY, state, prover(tree), SIGN)
    assert grown.checkpoint.tree_size == 13
    assert grown.cosignature is not None
    again = judge(checkpoint(tree), LOG_KEY, state_of(grown), prover(tree), SIGN)
    assert again.cosignature is None


def test_a_smaller_tree_than_the_one_cosigned_is_a_rollback() -> None:
    tree = leaves("a", 9)
    state = state_of(judge(checkpoint(tree), LOG_KEY, None, prover(tree), SIGN))
    with pytest.raises(WitnessAlarm) as alarm:
        judge(checkpoint(tree[:8]), LOG_KEY, state, prover(tree), SIGN)
    assert alarm.value.kind == "rollback"


def test_a_truncated_and_regrown_tree_is_a_fork() -> None:
    tree = leaves("a", 9)
    state = state_of(judge(checkpoint(tree), LOG_KEY, None, prover(tree), SIGN))
    regrown = tree[:6] + leaves("b", 6)  # leaves 6.. replaced, and more added
    with pytest.raises(WitnessAlarm) as alarm:
        judge(checkpoint(regrown), LOG_KEY, state, prover(regrown), SIGN)
    assert alarm.value.kind == "fork"
    same_size = tree[:8] + leaves("b", 1)
    with pytest.raises(WitnessAlarm) as alarm:
        judge(checkpoint(same_size), LOG_KEY, state, prover(same_size), SIGN)
    assert alarm.value.kind == "fork"


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    tree = leaves("a", 4)
    other = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(WitnessAlarm) as alarm:
        judge(checkpoint(tree, other), LOG_KEY, None, prover(tree), SIGN)
    assert alarm.value.kind == "bad-signature"
