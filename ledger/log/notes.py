"""C2SP signed notes, checkpoints and cosignatures: formatting, signing and verifying.

- ``signed-note``: a text ending in a newline, a blank line, then lines
  ``— <key name> base64(4-byte key ID || signature)``; the key ID is
  ``SHA-256(name || 0x0A || type || public key)[:4]``, type 0x01 for an Ed25519 note signature;
  a verifier key is written ``<name>+<hex key ID>+<base64(type || public key)>``.
- ``tlog-checkpoint``: the text is the origin line, the tree size in decimal and the root hash in
  base64, each ending in a newline.
- ``tlog-cosignature`` (v1, Ed25519, type 0x04): the signature is an 8-byte big-endian POSIX
  time then an Ed25519 signature over ``cosignature/v1\\ntime <time>\\n`` and the checkpoint text.

Pure functions; the service's key and checkpoints live in :mod:`ledger.log.checkpoints`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.log.merkle import HASH_SIZE

NOTE_ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014"
MAX_SIGNATURES = 32
_NAME = re.compile(r"[^\s+]+")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")  # below 2**63 (checked too)


class NoteError(ValueError):
    """A note, checkpoint, key or signature that is malformed or does not verify."""


def b64(data: bytes) -> str:
    """Standard base64 (RFC 4648 section 4), as every hash and signature here is written."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Decode standard base64 strictly.

    Raises:
        NoteError: it is not standard base64.
    """
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not standard base64") from None


def check_name(name: str) -> str:
    """A key name (or origin): non-empty, no spaces, no ``+``.

    Raises:
        NoteError: it is not one.
    """
    if not _NAME.fullmatch(name):
        raise NoteError(f"{name!r} is not a key name (non-empty, no spaces, no '+')")
    return name


def key_id(name: str, kind: int, public_key: bytes) -> bytes:
    """The 4-byte key ID of a key of signature type ``kind``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_key).digest()[:4]


@dataclass(frozen=True, slots=True)
class Verifier:
    """A public key that checks note signatures (``kind`` 0x01) or cosignatures (0x04)."""

    name: str
    kind: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.kind, self.public_key)

    def vkey(self) -> str:
        """The verifier key text: ``<name>+<hex key ID>+<base64(type || key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.kind]) + self.public_key)}"

    def check(self, message: bytes, signature: bytes) -> bool:
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_vkey(text: str) -> Verifier:
    """Read a verifier key ``<name>+<hex key ID>+<base64(type || key)>``.

    Raises:
        NoteError: malformed, an unknown type, or the key ID does not match.
    """
    parts = text.strip().split("+", 2)  # the base64 key may itself hold a "+"
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<hex key ID>+<base64 key>")
    name, hex_id, encoded = parts
    check_name(name)
    raw = unb64(encoded, "the verifier key")
    if len(raw) != 33 or raw[0] not in (NOTE_ED25519, COSIGNATURE_V1):
        raise NoteError("the verifier key is not an Ed25519 note or cosignature key")
    verifier = Verifier(name, raw[0], raw[1:])
    if verifier.key_id.hex() != hex_id.lower():
        raise NoteError("the verifier key's ID does not match its name and key")
    return verifier


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes
    line: str


def split_note(note: str) -> tuple[str, list[Signature]]:
    """The text of a signed note (ending in a newline) and its signature lines.

    Raises:
        NoteError: it is not a signed note.
    """
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("a note holds no control characters but newlines")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is text, a blank line, then signature lines")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a signed note has 1 to {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != DASH:
            raise NoteError("a signature line is '— <name> <base64 signature>'")
        raw = unb64(fields[2], "a signature")
        if len(raw) < 5:
            raise NoteError("a signature is a key ID and at least one byte")
        signatures.append(Signature(check_name(fields[1]), raw[:4], raw[4:], line + "\n"))
    return text, signatures


def signature_line(name: str, kid: bytes, signature: bytes) -> str:
    """A note's signature line, newline included."""
    return f"{DASH} {name} {b64(kid + signature)}\n"


def sign_note(text: str, name: str, private_key: ed25519.Ed25519PrivateKey) -> str:
    """The note: ``text``, a blank line and our Ed25519 signature line."""
    public = private_key.public_key().public_bytes_raw()
    kid = key_id(name, NOTE_ED25519, public)
    return text + "\n" + signature_line(name, kid, private_key.sign(text.encode("utf-8")))


def verify_note(note: str, verifier: Verifier) -> tuple[str, list[Signature]]:
    """The text of ``note`` and its other signature lines, once ``verifier``'s signature on it
    is found and checks.

    Raises:
        NoteError: malformed, no signature of that key, or its signature does not verify.
    """
    text, signatures = split_note(note)
    ours = [s for s in signatures if s.name == verifier.name and s.key_id == verifier.key_id]
    if not ours:
        raise NoteError(f"the note is not signed by {verifier.name}")
    for s in ours:
        if not verifier.check(text.encode("utf-8"), s.signature):
            raise NoteError(f"the signature of {verifier.name} does not verify")
    return text, [s for s in signatures if s not in ours]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint's text: origin, tree size, root hash (and any extension lines)."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.tree_size), b64(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint's text.

    Raises:
        NoteError: it is not a checkpoint.
    """
    if not text.endswith("\n"):
        raise NoteError("a checkpoint ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("a checkpoint is an origin, a tree size and a root hash, one a line")
    origin, size, root = lines[:3]
    if not origin.strip() or not _SIZE.fullmatch(size):
        raise NoteError("a checkpoint's second line is the tree size in decimal")
    if int(size) >= 2**63:
        raise NoteError("the tree size is too large")
    root_hash = unb64(root, "the root hash")
    if len(root_hash) != HASH_SIZE:
        raise NoteError("the root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(lines[3:]))


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a v1 cosignature signs: the header, the time and the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, private_key: ed25519.Ed25519PrivateKey, timestamp: int) -> str:
    """A witness's cosignature line of a checkpoint text, at POSIX time ``timestamp``."""
    public = private_key.public_key().public_bytes_raw()
    kid = key_id(name, COSIGNATURE_V1, public)
    signature = private_key.sign(cosigned_message(text, timestamp))
    return signature_line(name, kid, timestamp.to_bytes(8, "big") + signature)


def verify_cosignature(text: str, signature: Signature, verifier: Verifier) -> int:
    """The time of a witness's cosignature of a checkpoint text, once it checks.

    Raises:
        NoteError: it is not ``verifier``'s, or does not verify.
    """
    if verifier.kind != COSIGNATURE_V1:
        raise NoteError(f"{verifier.name} is not a cosignature key")
    if signature.name != verifier.name or signature.key_id != verifier.key_id:
        raise NoteError(f"the signature is not {verifier.name}'s")
    if len(signature.signature) != 8 + 64:
        raise NoteError("a cosignature is a timestamp and an Ed25519 signature")
    timestamp = int.from_bytes(signature.signature[:8], "big")
    if timestamp >= 2**63 or not verifier.check(
        cosigned_message(text, timestamp), signature.signature[8:]
    ):
        raise NoteError(f"the cosignature of {verifier.name} does not verify")
    return timestamp
