"""JOSE as attestations use it: the signing algorithms, and base64url without padding."""

from __future__ import annotations

import base64
import enum


class SigningAlgorithm(enum.StrEnum):
    """The JWS algorithms attestations are signed with; never ``none`` or an HMAC (a public key
    is no secret, so a verifier could forge an HMAC with it)."""

    EDDSA = "EdDSA"  # Ed25519 (RFC 8037)
    ES256 = "ES256"  # ECDSA on P-256 with SHA-256 (RFC 7518 section 3.4)


def b64url(data: bytes) -> str:
    """base64url as JOSE writes it (RFC 7515 section 2): no padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Read base64url written without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
