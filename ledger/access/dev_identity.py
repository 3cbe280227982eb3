"""A development identity provider: mints identity tokens with a local key (dev and demo only)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.access.identity import DEFAULT_ID_CLAIM, DEFAULT_NAME_CLAIM, IdentityConfig
from ledger.errors import IdentityConfigError
from ledger.values.id_numbers import validate_id_number

DEV_ISSUER = "urn:cehours:dev-idp"


DEV_AUDIENCE = "cehours"


DEV_KEY_FILE = "dev-idp-key.pem"


DEV_TOKEN_LIFETIME = dt.timedelta(minutes=15)


class DevIdentityProvider:
    """Mints identity tokens with a local Ed25519 key, for development and the demo only."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key

    @classmethod
    def from_directory(cls, directory: Path) -> DevIdentityProvider:
        """Load the key from ``directory/dev-idp-key.pem``, creating it (mode 0600) if absent.

        Raises:
            IdentityConfigError: the file exists but holds no Ed25519 private key.
        """
        path = directory / DEV_KEY_FILE
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                # O_EXCL: two server workers starting together must end up with one key.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise IdentityConfigError(f"{path} does not hold an Ed25519 private key")
        return cls(key)

    def public_key_pem(self) -> str:
        """The public key, PEM: what :class:`IdentityConfig` verifies the dev tokens with."""
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def config(self) -> IdentityConfig:
        """The configuration that accepts this provider's tokens."""
        return IdentityConfig(
            issuer=DEV_ISSUER,
            audience=DEV_AUDIENCE,
            algorithms=("EdDSA",),
            public_key_pem=self.public_key_pem(),
        )

    def mint(
        self,
        id_number: str,
        name: str | None = None,
        *,
        lifetime: dt.timedelta = DEV_TOKEN_LIFETIME,
        now: dt.datetime | None = None,
    ) -> str:
        """A signed identity token for ``id_number``.

        Raises:
            ValueError: the ID number is not valid.
        """
        number = validate_id_number(id_number)
        issued = now or dt.datetime.now(dt.UTC)
        claims: dict[str, Any] = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "sub": "dev-" + secrets.token_hex(8),
            "iat": int(issued.timestamp()),
            "exp": int((issued + lifetime).timestamp()),
            DEFAULT_ID_CLAIM: number,
        }
        if name:
            claims[DEFAULT_NAME_CLAIM] = name
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"typ": "JWT"})
