"""A witness's judgement: is a new checkpoint consistent with the last one it cosigned?

The witness (``cehours witness``, run by another party such as the audit office) keeps the last
checkpoint it cosigned. Given the log's newest checkpoint and a consistency proof from the old
size, :func:`judge` says whether to cosign it, and raises :class:`WitnessAlarm` for what must
never happen: a checkpoint not signed by the log's key, a smaller tree than one already
cosigned (a rollback), or a tree that does not extend the old one (a fork, including the same
size with another root). The HTTP fetching and the state file are the command's
(``api.cli.witness``); this module has no I/O.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.log.merkle import ProofError, verify_consistency
from ledger.log.notes import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Verifier,
    cosign,
    parse_checkpoint,
    verify_note,
)


class WitnessAlarm(Exception):
    """The log misbehaved: a bad signature, a rollback or a fork. ``kind`` names which."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True, slots=True)
class WitnessState:
    """The last checkpoint the witness cosigned (its text, as signed)."""

    origin: str
    tree_size: int
    root_hash: str  # base64
    text: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> WitnessState:
        return cls(**json.loads(text))


def witness_verifier(name: str, private_key: ed25519.Ed25519PrivateKey) -> Verifier:
    """The witness's cosignature verifier key (type 0x04), for the log's configuration."""
    return Verifier(name, COSIGNATURE_V1, private_key.public_key().public_bytes_raw())


@dataclass(frozen=True, slots=True)
class Judged:
    """A checkpoint the witness accepts: its text, parsed, and the cosignature line (None: the
    same checkpoint as last time, nothing new to sign)."""

    checkpoint: Checkpoint
    text: str
    cosignature: str | None


def judge(
    note: str,
    log_key: Verifier,
    state: WitnessState | None,
    proof: Callable[[int, int], Sequence[bytes]],
    sign: Callable[[str], str],
) -> Judged:
    """Decide on the log's newest checkpoint ``note`` (see the module's docstring).

    ``proof(old, new)`` fetches the consistency proof; ``sign(text)`` makes the cosignature.

    Raises:
        WitnessAlarm: a bad signature, a rollback or a fork.
    """
    try:
        text, _ = verify_note(note, log_key)
        checkpoint = parse_checkpoint(text)
    except NoteError as exc:
        raise WitnessAlarm("bad-signature", str(exc)) from None
    if checkpoint.origin != log_key.name:
        raise WitnessAlarm("bad-signature", f"the checkpoint's origin is {checkpoint.origin!r}")
    if state is None:
        return Judged(checkpoint, text, sign(text))
    old_root = base64.b64decode(state.root_hash)
    if checkpoint.tree_size < state.tree_size:
        raise WitnessAlarm(
            "rollback",
            f"the log now says {checkpoint.tree_size} leaves; it was {state.tree_size} "
            "when this witness cosigned it",
        )
    if checkpoint.tree_size == state.tree_size:
        if checkpoint.root_hash != old_root:
            raise WitnessAlarm("fork", f"two different roots for size {checkpoint.tree_size}")
        return Judged(checkpoint, text, None)
    if state.tree_size > 0:
        try:
            verify_consistency(
                state.tree_size,
                checkpoint.tree_size,
                old_root,
                checkpoint.root_hash,
                proof(state.tree_size, checkpoint.tree_size),
            )
        except ProofError as exc:
            raise WitnessAlarm(
                "fork",
                f"size {checkpoint.tree_size} does not extend the cosigned size "
                f"{state.tree_size}: {exc}",
            ) from None
    return Judged(checkpoint, text, sign(text))


def cosigner(
    name: str, private_key: ed25519.Ed25519PrivateKey, now: Callable[[], int]
) -> Callable[[str], str]:
    """A ``sign`` for :func:`judge`: the witness's v1 cosignature at the time ``now()``."""
    return lambda text: cosign(text, name, private_key, now())


def state_of(judged: Judged) -> WitnessState:
    """What the witness keeps after cosigning ``judged``."""
    c = judged.checkpoint
    return WitnessState(c.origin, c.tree_size, base64.b64encode(c.root_hash).decode(), judged.text)
