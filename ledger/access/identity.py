"""Individuals' identity: verifying the identity provider's JWT, and a development provider.

The province's identity provider signs a JWT whose configured claim holds the person's resident
ID number. We accept it only with an asymmetric signature (never ``none`` or an HMAC: the key
we verify with is public, so an HMAC "signed" with it would prove nothing), from the configured
issuer, for our audience, with an expiry. The ID number is then mapped to the opaque person id
and goes no further: it is never logged and never repeated in an error message.

For development and the demo, :class:`DevIdentityProvider` mints such tokens with a local
Ed25519 key kept in ``var/``; the HTTP layer offers it only when explicitly enabled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.exceptions import (
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWKClientError,
    PyJWTError,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.db.transactions import read_transaction
from ledger.entries.tables import Person
from ledger.errors import IdentityConfigError, IdentityTokenError
from ledger.values.id_numbers import mask_id_number, validate_id_number
from ledger.values.texts import parse_text

# Asymmetric algorithms only; "none" and HS* are refused whatever the configuration says.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


DEFAULT_ALGORITHMS = ("RS256", "ES256", "EdDSA")


DEFAULT_ID_CLAIM = "id_number"


DEFAULT_NAME_CLAIM = "name"


MAX_TOKEN_LENGTH = 16_384


MAX_NAME = 100


# An identity token says who signs in now; one that claims to stay good for longer than this is
# refused (a provider's tokens last minutes or hours; a session lasts two hours).
MAX_TOKEN_LIFETIME = dt.timedelta(days=1)


_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})


_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def algorithms_for_key(key: object) -> frozenset[str]:
    """The JWS algorithms a public key can verify (RFC 7518, RFC 8037): RS*/PS* for RSA, the
    one ES* of an EC key's curve, EdDSA for Ed25519 and Ed448; none for anything else (an HMAC
    secret, another curve)."""
    if isinstance(key, rsa.RSAPublicKey):
        return _RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = _EC_ALGORITHMS.get(key.curve.name)
        return frozenset({alg}) if alg else frozenset()
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return frozenset({"EdDSA"})
    return frozenset()


def _numeric_date(claims: dict[str, Any], name: str) -> int | None:
    """A NumericDate claim (RFC 7519: a JSON number) in whole seconds, ``None`` if absent.

    Raises:
        IdentityTokenError: it is not a finite number (a text, a boolean, ``1e400``).
    """
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IdentityTokenError(f"the identity token's {name} claim is not a number")
    try:
        return int(value)
    except (OverflowError, ValueError):
        raise IdentityTokenError(f"the identity token's {name} claim is not a number") from None


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """How to verify the identity provider's tokens (from configuration, never from a token).

    Exactly one of ``jwks_url`` and ``public_key_pem`` says where the provider's key is.
    """

    issuer: str
    audience: str
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    jwks_url: str | None = None
    public_key_pem: str | None = None
    id_claim: str = DEFAULT_ID_CLAIM
    name_claim: str = DEFAULT_NAME_CLAIM
    leeway: dt.timedelta = field(default=dt.timedelta(seconds=30))
    max_lifetime: dt.timedelta = MAX_TOKEN_LIFETIME

    def __post_init__(self) -> None:
        problems = []
        if not self.issuer:
            problems.append("an issuer is required")
        if not self.audience:
            problems.append("an audience is required")
        if not self.algorithms:
            problems.append("at least one algorithm is required")
        refused = sorted(set(self.algorithms) - ASYMMETRIC_ALGORITHMS)
        if refused:
            problems.append(
                f"algorithms {refused} are not accepted: only asymmetric signatures"
                f" ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
        if (self.jwks_url is None) == (self.public_key_pem is None):
            problems.append("give exactly one of a JWKS URL and a PEM public key")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            problems.append("the JWKS URL must be http(s)")
        if not self.id_claim:
            problems.append("the claim holding the ID number must be named")
        if problems:
            raise IdentityConfigError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified token says the person is. ``repr`` never shows the ID number."""

    id_number: str = field(repr=False)
    name: str | None
    subject: str | None
    expires_at: dt.datetime

    @property
    def id_number_masked(self) -> str:
        """The ID number as it may be shown: first six and last four characters."""
        return mask_id_number(self.id_number)


class IdentityVerifier:
    """Verifies identity tokens against one :class:`IdentityConfig` (keep one per process:
    with a JWKS URL it caches the provider's keys)."""

    def __init__(self, config: IdentityConfig) -> None:
        self.config = config
        self._jwks: jwt.PyJWKClient | None = None
        self._key: Any = None
        if config.jwks_url is not None:
            self._jwks = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300, timeout=5)
        else:
            assert config.public_key_pem is not None
            try:
                self._key = serialization.load_pem_public_key(config.public_key_pem.encode())
            except (ValueError, TypeError):
                raise IdentityConfigError("the identity provider's public key is not PEM") from None
            if not algorithms_for_key(self._key) & set(config.algorithms):
                raise IdentityConfigError(
                    "the identity provider's public key fits none of the configured algorithms"
                    f" ({', '.join(config.algorithms)})"
                )

    def _signing_key(self, token: str, alg: str) -> Any:
        """The provider's key for this token, once it is sure to fit the token's ``alg``.

        Raises:
            IdentityTokenError: no such key, or a key of another type or algorithm.
        """
        if self._jwks is None:
            key = self._key
        else:
            try:
                jwk = self._jwks.get_signing_key_from_jwt(token)
            except PyJWKClientError:
                raise IdentityTokenError(
                    "the identity token's key is not among the provider's keys"
                ) from None
            except PyJWTError:
                raise IdentityTokenError("the identity token is malformed") from None
            key = jwk.key
        if alg not in algorithms_for_key(key):
            raise IdentityTokenError(
                f"the identity token's algorithm ({alg}) does not fit the provider's key"
            )
        return key

    def verify(self, token: str, *, now: dt.datetime | None = None) -> Identity:
        """Verify a token and return the identity it carries.

        Raises:
            IdentityTokenError: malformed, wrong algorithm, bad signature, wrong issuer or
                audience, expired or without expiry, or without a valid ID number claim. The
                message says which, and never quotes the token's content.
        """
        config = self.config
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise IdentityTokenError("the identity token is malformed")
        token = token.strip()
        if not token.isascii():
            raise IdentityTokenError("the identity token is malformed")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise IdentityTokenError("the identity token is malformed") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in config.algorithms:
            raise IdentityTokenError("the identity token's algorithm is not accepted")
        claims = self._decode(token, self._signing_key(token, alg), alg)
        expires = self._expiry(claims, now or dt.datetime.now(dt.UTC))
        try:
            number = validate_id_number(claims.get(config.id_claim))
        except ValueError:
            raise IdentityTokenError(
                f"the identity token's {config.id_claim} claim is not a valid ID number"
            ) from None
        subject = claims.get("sub")
        return Identity(
            id_number=number,
            name=_display_name(claims.get(config.name_claim)),
            subject=subject if isinstance(subject, str) else None,
            expires_at=expires,
        )

    def _expiry(self, claims: dict[str, Any], moment: dt.datetime) -> dt.datetime:
        """When the token expires, checked against ``moment`` (tests verify as of a moment):
        not passed, not further ahead than ``max_lifetime``, and ``iat``/``nbf`` numbers.

        Raises:
            IdentityTokenError: expired, too long-lived, or a date claim that is no number.
        """
        config = self.config
        for name in ("iat", "nbf"):
            _numeric_date(claims, name)
        exp = _numeric_date(claims, "exp")
        if exp is None:
            raise IdentityTokenError("the identity token has no exp claim")
        now = int(moment.timestamp())
        if exp + config.leeway.total_seconds() <= now:
            raise IdentityTokenError("the identity token has expired")
        if exp > now + (config.max_lifetime + config.leeway).total_seconds():
            raise IdentityTokenError(
                "the identity token's expiry is too far ahead (an identity token may last"
                f" at most {config.max_lifetime})"
            )
        return dt.datetime.fromtimestamp(exp, dt.UTC)

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        """The token's claims once its signature (by ``alg``, which fits ``key``), issuer and
        audience check out.

        Raises:
            IdentityTokenError: saying which check failed.
        """
        config = self.config
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway,
                options={"require": ["exp", "iss", "aud"], "verify_exp": False},
            )
        except InvalidSignatureError:
            raise IdentityTokenError("the identity token's signature does not verify") from None
        except MissingRequiredClaimError as exc:
            raise IdentityTokenError(f"the identity token has no {exc.claim} claim") from None
        except InvalidIssuerError:
            raise IdentityTokenError("the identity token is from another issuer") from None
        except InvalidAudienceError:
            raise IdentityTokenError("the identity token is not meant for this service") from None
        except ImmatureSignatureError:
            raise IdentityTokenError("the identity token is not valid yet") from None
        except (PyJWTError, ValueError, TypeError, OverflowError):
            # InvalidTokenError and the rest of PyJWT's errors (a key it cannot use), and what
            # the cryptography library raises for a signature of the wrong size or shape.
            raise IdentityTokenError("the identity token is malformed") from None

    def __repr__(self) -> str:
        return f"IdentityVerifier(issuer={self.config.issuer!r})"


def _display_name(value: object) -> str | None:
    """The name claim if it is a name we can show (one line of valid text), else none."""
    try:
        return parse_text(value, limit=MAX_NAME)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A verified person as pages and ``/v1/me`` see them: the opaque person id (``None`` while
    the ledger holds no hours for them), a display name and the masked ID number."""

    person_id: str | None
    name: str | None
    id_number_masked: str


def sign_in(session: Session, identity: Identity) -> SignedIn:
    """Map a verified identity to the person the ledger knows by that ID number.

    A person with no hours yet is still signed in, with no person id: they see an empty
    transcript rather than an error.
    """
    with read_transaction(session):
        row = session.execute(
            select(Person.id, Person.name).where(Person.id_number == identity.id_number)
        ).first()
    if row is None:
        return SignedIn(None, identity.name, identity.id_number_masked)
    return SignedIn(row.id, identity.name or row.name, identity.id_number_masked)
