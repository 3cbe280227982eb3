"""Attestation signing keys: Ed25519 / ES256, RFC 7638 kids, encrypted at rest, rotation, JWKS.

Where private keys live: in the ``signing_keys`` table, never in clear. Each private key (PKCS#8)
is sealed with AES-256-GCM under a key-encryption key (KEK) that never touches the database; the
key's ``kid`` is the associated data, so a sealed key cannot be moved to another row. The KEK
comes from the environment: ``CEHOURS_KEY_ENCRYPTION_KEY`` (32 bytes, base64url), or
``CEHOURS_KEY_ENCRYPTION_KEY_FILE`` naming a file that holds it and that only its owner may read
(0600 or stricter). A development server (``--dev``) with neither set uses, and creates on first
use, ``var/dev-key-encryption-key`` (0600). Losing the KEK only means new keys must be created:
public keys stay in the table, so live tokens keep verifying.

Key lifecycle: ``active`` (signs new tokens; exactly one) -> ``verify-only`` after a rotation
(still published until ``publish_until``, the latest expiry any token it signed can have) ->
unpublished. ``retire`` withdraws a key at once (e.g. suspected compromise); the JWKS then lists
its kid under the extra member ``retired`` so that verifiers can say why a token fails. Every
transition records who did it and when, on the key's own row.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.attestations.jose import b64url, b64url_decode
from ledger.errors import (
    KeyEncryptionKeyError,
)

KEK_ENV = "CEHOURS_KEY_ENCRYPTION_KEY"


KEK_FILE_ENV = "CEHOURS_KEY_ENCRYPTION_KEY_FILE"


DEV_KEK_FILE = "dev-key-encryption-key"


_SEAL_VERSION = "v1"


PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def parse_kek(text: str) -> bytes:
    """Decode a key-encryption key (base64url or base64 of exactly 32 bytes).

    Raises:
        KeyEncryptionKeyError: it is not 32 bytes of base64.
    """
    try:
        raw = b64url_decode(text.strip().replace("+", "-").replace("/", "_").rstrip("="))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise KeyEncryptionKeyError("the key-encryption key must be 32 random bytes, base64url")
    return raw


def new_kek_text() -> str:
    """A fresh key-encryption key, as it goes into the environment or a 0600 file."""
    return b64url(secrets.token_bytes(32))


def _read_private_file(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyEncryptionKeyError(
            f"{path} may be read by others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
        )
    return path.read_text(encoding="ascii")


def load_kek(*, dev_dir: Path | None = None) -> bytes:
    """The key-encryption key from the environment; in development, from ``dev_dir``.

    ``CEHOURS_KEY_ENCRYPTION_KEY`` wins, then the file named by
    ``CEHOURS_KEY_ENCRYPTION_KEY_FILE``. With neither set and ``dev_dir`` given (``--dev``), the
    file ``dev_dir/dev-key-encryption-key`` is used, created with mode 0600 on first use.

    Raises:
        KeyEncryptionKeyError: none is configured, or it is malformed or readable by others.
    """
    text = os.environ.get(KEK_ENV)
    if text:
        return parse_kek(text)
    file_name = os.environ.get(KEK_FILE_ENV)
    if file_name:
        return parse_kek(_read_private_file(Path(file_name)))
    if dev_dir is None:
        raise KeyEncryptionKeyError(
            f"no key-encryption key: set {KEK_ENV} (32 random bytes, base64url) or {KEK_FILE_ENV}"
        )
    path = dev_dir / DEV_KEK_FILE
    if not path.exists():
        dev_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(new_kek_text() + "\n")
    return parse_kek(_read_private_file(path))


def seal(private_key: PrivateKey, kek: bytes, kid: str) -> str:
    """Encrypt a private key under the KEK, bound to its kid."""
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(kek).encrypt(nonce, der, kid.encode("ascii"))
    return f"{_SEAL_VERSION}.{b64url(nonce)}.{b64url(sealed)}"


def unseal(sealed: str, kek: bytes, kid: str) -> PrivateKey:
    """Decrypt a sealed private key.

    Raises:
        KeyEncryptionKeyError: the KEK is not the one it was sealed with, or the text is damaged.
    """
    try:
        version, nonce, body = sealed.split(".")
        if version != _SEAL_VERSION:
            raise ValueError(version)
        der = AESGCM(kek).decrypt(b64url_decode(nonce), b64url_decode(body), kid.encode())
    except (ValueError, InvalidTag):
        raise KeyEncryptionKeyError(
            f"signing key {kid} cannot be opened with this key-encryption key"
        ) from None
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyEncryptionKeyError(f"signing key {kid} holds an unexpected key type")
    return key
