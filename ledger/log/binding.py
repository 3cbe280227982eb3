"""Attestations bound to the log: the ``log`` claim, and checking it against the log later.

An attestation states the person's chain head (``ledger.head``). Its ``log`` claim names the
checkpoint the issuance read (``origin``, ``tree_size``, ``root_hash``) and the head entry's id
(``entry_id``), so that anyone can ask the log for that entry's inclusion proof at that size,
recompute its leaf from ``ledger.head`` and reach the signed root; then a consistency proof from
that size to today's checkpoint shows the log still holds what the attestation was read from.
``included`` is false only when the head entry was appended after the newest checkpoint (the
issuer publishes one first when it must, so this is a narrow race).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ledger.entries.tables import Entry
from ledger.log.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from ledger.log.notes import NoteError, Verifier, b64, parse_checkpoint, unb64, verify_note
from ledger.log.tables import LogCheckpoint, LogLeaf

_LATEST = (
    select(LogCheckpoint.origin, LogCheckpoint.tree_size, LogCheckpoint.root_hash)
    .order_by(LogCheckpoint.tree_size.desc())
    .limit(1)
    .subquery()
)
# One statement (built once) for the claim: the newest checkpoint, the person's head entry and
# its leaf, if any; an issuance pays one round trip for it.
_CLAIM = (
    select(
        _LATEST.c.origin,
        _LATEST.c.tree_size,
        _LATEST.c.root_hash,
        Entry.id.label("entry_id"),
        LogLeaf.leaf_index,
    )
    .select_from(_LATEST)
    .outerjoin(Entry, (Entry.person_id == bindparam("person_id")) & (Entry.seq == bindparam("seq")))
    .outerjoin(LogLeaf, LogLeaf.entry_id == Entry.id)
)


def log_claim(session: Session, person_id: str, entry_count: int) -> dict[str, Any] | None:
    """The ``log`` claim for an attestation of a person whose chain has ``entry_count``
    entries, in the issuance's transaction (None: the log has no checkpoint yet)."""
    row = session.execute(_CLAIM, {"person_id": person_id, "seq": entry_count}).first()
    if row is None:
        return None
    entry_id = row.entry_id if entry_count else None
    logged = row.leaf_index is not None and row.leaf_index < row.tree_size
    return {
        "origin": row.origin,
        "tree_size": row.tree_size,
        "root_hash": b64(bytes(row.root_hash)),
        "entry_id": entry_id,
        "included": entry_id is None or logged,
    }


class LogBindingError(Exception):
    """The attestation's ``log`` claim does not check out; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


Inclusion = Callable[[int, int], Mapping[str, Any]]
Consistency = Callable[[int, int], Sequence[bytes]]


def check_log_binding(
    claims: Mapping[str, Any],
    log_key: Verifier,
    checkpoint_note: str,
    inclusion: Inclusion,
    consistency: Consistency,
) -> int:
    """Check a token's ``log`` claim against the log as it is now; return today's tree size.

    ``inclusion(entry_id, tree_size)`` fetches an inclusion proof (the API's JSON answer),
    ``consistency(old, new)`` a consistency proof's hashes.

    Raises:
        LogBindingError: ``log-missing`` (no claim, or the head was not yet logged),
            ``log-bad-checkpoint`` (today's checkpoint is not the log key's, or another origin),
            ``log-inclusion`` (the head is not in the token's tree),
            ``log-inconsistent`` (today's tree does not extend the token's: a fork).
    """
    claim = claims.get("log")
    if not isinstance(claim, Mapping) or not claim.get("included"):
        raise LogBindingError("log-missing", "the token names no logged checkpoint for its head")
    try:
        text, _ = verify_note(checkpoint_note, log_key)
        today = parse_checkpoint(text)
        token_root = unb64(str(claim["root_hash"]), "the token's root hash")
    except (NoteError, KeyError) as exc:
        raise LogBindingError("log-bad-checkpoint", str(exc)) from None
    if today.origin != claim.get("origin") or today.origin != log_key.name:
        raise LogBindingError("log-bad-checkpoint", "the token names another log")
    size = int(claim["tree_size"])
    head = (claims.get("ledger") or {}).get("head")
    entry_id = claim.get("entry_id")
    try:
        if head is not None and entry_id is not None:
            proof = inclusion(int(entry_id), size)
            leaf = leaf_hash(bytes.fromhex(head))
            hashes = [unb64(h, "a proof hash") for h in proof["hashes"]]
            verify_inclusion(int(proof["leaf_index"]), size, leaf, hashes, token_root)
    except (ProofError, NoteError, KeyError, ValueError) as exc:
        raise LogBindingError(
            "log-inclusion", f"the head is not in the token's tree: {exc}"
        ) from None
    try:
        if today.tree_size < size:
            raise ProofError(f"today's log has {today.tree_size} leaves, the token's had {size}")
        if today.tree_size != size:
            verify_consistency(
                size,
                today.tree_size,
                token_root,
                today.root_hash,
                list(consistency(size, today.tree_size)),
            )
        elif today.root_hash != token_root:
            raise ProofError("the same size with another root")
    except ProofError as exc:
        raise LogBindingError(
            "log-inconsistent", f"the log forked since the token: {exc}"
        ) from None
    return today.tree_size
