"""Signed checkpoints: the log's key, publishing (integrate, then sign), witnesses' cosignatures.

The checkpoint signing key is Ed25519, kept as attestation signing keys are: the private key
sealed with AES-256-GCM under the key-encryption key (``CEHOURS_KEY_ENCRYPTION_KEY`` or its
``_FILE``; a development server's ``var/dev-key-encryption-key``), never in clear, never in the
repository. Its name is the log's origin (``CEHOURS_LOG_ORIGIN``). Signing happens in
:func:`publish`, run by the log publisher every few seconds and on demand (``cehours log
publish``), never by an append.

Witnesses (``CEHOURS_LOG_WITNESSES``: their cosignature verifier keys) send back the checkpoint
they cosigned; :func:`add_cosignatures` keeps each cosignature that checks, and
:func:`checkpoint_note` serves the checkpoint with every cosignature held.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.attestations.key_encryption import seal, unseal
from ledger.db.transactions import read_transaction, run_with_retries, write_transaction
from ledger.errors import KeyEncryptionKeyError, LogError, LogKeyError, NotInLogError
from ledger.log.notes import (
    NOTE_ED25519,
    Checkpoint,
    NoteError,
    Verifier,
    check_name,
    parse_checkpoint,
    parse_vkey,
    sign_note,
    split_note,
    verify_cosignature,
)
from ledger.log.sequencer import integrate
from ledger.log.tables import LogCheckpoint, LogCosignature, LogKey
from ledger.log.tree import latest_head

ORIGIN_ENV = "CEHOURS_LOG_ORIGIN"
DEFAULT_ORIGIN = "cehours.example/log"
WITNESSES_ENV = "CEHOURS_LOG_WITNESSES"


def configured_origin() -> str:
    """The log's origin line and key name: ``CEHOURS_LOG_ORIGIN``, default
    ``cehours.example/log``.

    Raises:
        LogKeyError: it is not a valid key name (spaces or ``+``).
    """
    origin = os.environ.get(ORIGIN_ENV) or DEFAULT_ORIGIN
    try:
        return check_name(origin)
    except NoteError as exc:
        raise LogKeyError(f"{ORIGIN_ENV}: {exc}") from None


def configured_witnesses() -> list[Verifier]:
    """The witnesses whose cosignatures are accepted: ``CEHOURS_LOG_WITNESSES``, their
    cosignature verifier keys separated by commas or whitespace.

    Raises:
        LogKeyError: one of them is not a cosignature verifier key.
    """
    text = os.environ.get(WITNESSES_ENV, "")
    witnesses = []
    for vkey in text.replace(",", " ").split():
        try:
            witnesses.append(parse_vkey(vkey))
        except NoteError as exc:
            raise LogKeyError(f"{WITNESSES_ENV}: {exc}") from None
    return witnesses


class StoredCheckpoint(NamedTuple):
    """A signed checkpoint as stored: size, root and the note with our signature only."""

    tree_size: int
    root_hash: bytes
    note: str


def _seal_label(kid: str) -> str:
    return f"log-{kid}"


def create_log_key(session: Session, kek: bytes, *, actor: str) -> Verifier:
    """Make a new checkpoint signing key for the configured origin; it signs from now on.

    Raises:
        LogKeyError: the origin is not a valid key name.
    """
    origin = configured_origin()
    private = ed25519.Ed25519PrivateKey.generate()
    verifier = Verifier(origin, NOTE_ED25519, private.public_key().public_bytes_raw())
    kid = verifier.key_id.hex()
    row = {
        "key_id": kid,
        "name": origin,
        "public_key": verifier.public_key,
        "private_key_sealed": seal(private, kek, _seal_label(kid)),
        "created_at": dt.datetime.now(dt.UTC),
        "created_by": actor,
    }
    with write_transaction(session):
        session.execute(insert(LogKey), [row])
    return verifier


def log_verifier(session: Session) -> Verifier | None:
    """The verifier key of the configured origin's newest signing key (None: no key yet)."""
    found = _newest_key(session, configured_origin())
    return Verifier(found.name, NOTE_ED25519, bytes(found.public_key)) if found else None


def ensure_log_key(session: Session, kek: bytes, *, actor: str) -> Verifier:
    """The configured origin's key, made if there is none (development servers)."""
    return log_verifier(session) or create_log_key(session, kek, actor=actor)


def _newest_key(session: Session, origin: str) -> LogKey | None:
    with read_transaction(session):
        return session.scalars(
            select(LogKey).where(LogKey.name == origin).order_by(LogKey.created_at.desc())
        ).first()


def _signer(session: Session, kek: bytes) -> tuple[str, ed25519.Ed25519PrivateKey]:
    origin = configured_origin()
    found = _newest_key(session, origin)
    if found is None:
        raise LogKeyError(f"no checkpoint signing key for {origin}: run `cehours log key create`")
    try:
        private = unseal(found.private_key_sealed, kek, _seal_label(found.key_id))
    except KeyEncryptionKeyError as exc:
        raise LogKeyError(str(exc)) from None
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise LogKeyError(f"log key {found.key_id} is not an Ed25519 key")
    return origin, private


class Published(NamedTuple):
    """What :func:`publish` did: leaves added, and the checkpoint signed (None: none needed)."""

    added: int
    checkpoint: StoredCheckpoint | None


def publish(session: Session, kek: bytes) -> Published:
    """Integrate the entries not yet in the log, then sign a checkpoint of the tree if it grew
    since the last one (or none was ever signed).

    Raises:
        LogKeyError: no usable signing key.
        MissingNodeError: the stored tree is damaged.
    """
    integrated = integrate(session)
    latest = latest_checkpoint(session)
    if latest is not None and latest.tree_size >= integrated.tree_size:
        return Published(integrated.added, None)
    origin, private = _signer(session, kek)

    def transaction() -> StoredCheckpoint | None:
        with write_transaction(session):
            head = latest_head(session)
            size, root = (head.tree_size, head.root_hash) if head else (0, integrated.root_hash)
            note = sign_note(Checkpoint(origin, size, root).text(), origin, private)
            kid = split_note(note)[1][0].key_id.hex()
            row = {
                "tree_size": size,
                "root_hash": root,
                "origin": origin,
                "key_id": kid,
                "note": note,
                "signed_at": dt.datetime.now(dt.UTC),
            }
            try:
                with session.begin_nested():
                    session.execute(insert(LogCheckpoint), [row])
            except IntegrityError:
                return None  # another publisher signed this size a moment ago
            return StoredCheckpoint(size, root, note)

    return Published(integrated.added, run_with_retries(transaction))


_CHECKPOINT = select(LogCheckpoint.tree_size, LogCheckpoint.root_hash, LogCheckpoint.note)


def latest_checkpoint(session: Session) -> StoredCheckpoint | None:
    """The newest signed checkpoint (None: none yet)."""
    with read_transaction(session):
        row = session.execute(_CHECKPOINT.order_by(LogCheckpoint.tree_size.desc()).limit(1)).first()
    return StoredCheckpoint(row.tree_size, bytes(row.root_hash), row.note) if row else None


def checkpoint_at(session: Session, tree_size: int) -> StoredCheckpoint | None:
    """The checkpoint signed at ``tree_size``, if one was."""
    with read_transaction(session):
        row = session.execute(_CHECKPOINT.where(LogCheckpoint.tree_size == tree_size)).first()
    return StoredCheckpoint(row.tree_size, bytes(row.root_hash), row.note) if row else None


def checkpoint_note(session: Session) -> str:
    """The newest checkpoint as served: our signed note and every cosignature held for it.

    Raises:
        NotInLogError: no checkpoint has been signed yet.
    """
    latest = latest_checkpoint(session)
    if latest is None:
        raise NotInLogError("no checkpoint has been signed yet")
    with read_transaction(session):
        lines = session.scalars(
            select(LogCosignature.line)
            .where(LogCosignature.tree_size == latest.tree_size)
            .order_by(LogCosignature.witness, LogCosignature.key_id)
        ).all()
    return latest.note + "".join(lines)


def add_cosignatures(session: Session, note: str, witnesses: list[Verifier]) -> tuple[int, int]:
    """Keep the cosignatures of configured ``witnesses`` on a checkpoint we signed; return its
    tree size and how many of them checked.

    Raises:
        LogError: the note is not one of our checkpoints, or no cosignature of a configured
            witness on it checks.
    """
    try:
        text, signatures = split_note(note)
        checkpoint = parse_checkpoint(text)
    except NoteError as exc:
        raise LogError(f"not a cosigned checkpoint: {exc}") from None
    ours = checkpoint_at(session, checkpoint.tree_size)
    if ours is None or split_note(ours.note)[0] != text:
        raise LogError("this log signed no such checkpoint")
    known = {(w.name, w.key_id): w for w in witnesses}
    rows = []
    for s in signatures:
        witness = known.get((s.name, s.key_id))
        if witness is None:
            continue
        try:
            at = verify_cosignature(text, s, witness)
        except NoteError as exc:
            raise LogError(str(exc)) from None
        rows.append((s, at))
    if not rows:
        raise LogError("no cosignature of a configured witness is on this checkpoint")
    now = dt.datetime.now(dt.UTC)
    with write_transaction(session):
        for s, at in rows:
            _store_cosignature(
                session, checkpoint.tree_size, s.name, s.key_id.hex(), s.line, at, now
            )
    return checkpoint.tree_size, len(rows)


def _store_cosignature(
    session: Session, size: int, witness: str, kid: str, line: str, at: int, now: dt.datetime
) -> None:
    held = session.scalar(
        select(LogCosignature.line).where(
            LogCosignature.tree_size == size,
            LogCosignature.witness == witness,
            LogCosignature.key_id == kid,
        )
    )
    if held is not None:
        return  # the witness sent it again: cosignatures are statements made once
    row = {
        "tree_size": size,
        "witness": witness,
        "key_id": kid,
        "line": line,
        "cosigned_at": at,
        "received_at": now,
    }
    session.execute(insert(LogCosignature), [row])
