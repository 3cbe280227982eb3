"""Individuals sign in with the province's OpenID Provider (OpenID Connect, through Authlib).

The authorization code flow with PKCE (S256), ``state`` and ``nonce`` (Authlib keeps them in the
session between the redirect and the callback and checks them there), the provider's settings from
its discovery document, its ID token checked against its JWKS (a token signed with a key we have
not seen makes Authlib fetch the JWKS again, once, so the provider can rotate keys), and
RP-initiated logout. We add what is ours: the claim holding the ID number is configuration, the
number is validated (GB 11643) and then only its mask and the opaque person id stay in the
session.

The ID token may carry the ID number (government providers put custom claims there), so it
never goes into a URL: the session keeps it encrypted for the logout's ``id_token_hint``, and the
logout is a form POSTed to the provider's ``end_session_endpoint``, not a redirect.

Configuration (``CEHOURS_`` environment variables, or ``create_app(config)``):

``OIDC_ISSUER``
    The provider's issuer URL; its ``/.well-known/openid-configuration`` is read. Setting it turns
    OpenID Connect sign-in on.
``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` or ``OIDC_CLIENT_SECRET_FILE``
    This service's registration at the provider (the secret from the environment or a file,
    never from the repository).
``OIDC_REDIRECT_URI``, ``OIDC_POST_LOGOUT_REDIRECT_URI``
    As registered at the provider; default: ``/sign-in/callback`` and ``/signed-out`` here.
``OIDC_SCOPES``
    Default ``openid profile``.
``OIDC_ID_NUMBER_CLAIM``, ``OIDC_NAME_CLAIM``
    The claims holding the resident ID number (default ``id_number``) and the name (``name``),
    read from the ID token, else from the userinfo endpoint.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app, session, url_for
from joserfc.errors import JoseError

from api.db import db_session
from api.errors import Problem
from ledger.access.identity import Identity, SignedIn, sign_in
from ledger.errors import IdentityTokenError
from ledger.values.id_numbers import validate_id_number
from ledger.values.texts import parse_text

NAME = "province"
_EXTENSION = "cehours_oidc"
_HINT = "oidc_hint"
DEFAULT_SCOPES = "openid profile"
DEFAULT_ID_NUMBER_CLAIM = "id_number"
DEFAULT_NAME_CLAIM = "name"
TIMEOUT_SECONDS = 5
RETRY_AFTER = "30"


class SignInRefused(Exception):
    """The provider's answer does not sign anyone in; ``status`` and a Chinese-first message
    for the person, never quoting what the provider or the browser sent."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class LogoutForm:
    """What the page that signs out at the provider POSTs to its ``end_session_endpoint``."""

    action: str
    fields: dict[str, str]

    @property
    def origin(self) -> str:
        """The provider's origin (the page's Content-Security-Policy must allow the form)."""
        parts = urlsplit(self.action)
        return f"{parts.scheme}://{parts.netloc}"


def oidc_enabled(app: Flask | None = None) -> bool:
    """Whether OpenID Connect sign-in is configured (``OIDC_ISSUER``)."""
    return bool((app or current_app).config.get("OIDC_ISSUER"))


def _secret(config: Any) -> str | None:
    secret = config.get("OIDC_CLIENT_SECRET")
    if not secret and config.get("OIDC_CLIENT_SECRET_FILE"):
        secret = Path(config["OIDC_CLIENT_SECRET_FILE"]).read_text().strip()
    return str(secret) if secret else None


def _client() -> Any:
    """This app's Authlib client for the provider (registered once)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    oauth: OAuth | None = app.extensions.get(_EXTENSION)
    if oauth is None:
        c = app.config
        issuer = str(c["OIDC_ISSUER"]).rstrip("/")
        oauth = OAuth(app)
        oauth.register(
            NAME,
            client_id=c.get("OIDC_CLIENT_ID"),
            client_secret=_secret(c),
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": c.get("OIDC_SCOPES") or DEFAULT_SCOPES,
                "code_challenge_method": "S256",
                "default_timeout": TIMEOUT_SECONDS,
            },
        )
        app.extensions[_EXTENSION] = oauth
    return oauth.create_client(NAME)


def _unavailable() -> Problem:
    return Problem(
        503,
        "统一身份认证暂时无法访问,请稍后再试。The identity provider cannot be reached: try again"
        " later.",
        code="identity-provider-unavailable",
        headers={"Retry-After": RETRY_AFTER},
    )


def _callback_uri() -> str:
    return str(
        current_app.config.get("OIDC_REDIRECT_URI")
        or url_for("pages.oidc_callback", _external=True)
    )


def authorization_redirect() -> Any:
    """The redirect to the provider's authorization endpoint (state, nonce, PKCE kept in the
    session).

    Raises:
        Problem: 503 when the provider's discovery document cannot be read.
    """
    try:
        return _client().authorize_redirect(_callback_uri())
    except (requests.RequestException, ValueError, RuntimeError):
        raise _unavailable() from None


def _fernet() -> Fernet:
    # The session cookie is signed, not encrypted; the ID token it keeps for the logout may
    # hold the ID number, so it is encrypted with a key derived from the session's secret.
    secret = str(current_app.secret_key).encode()
    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"cehours oidc id_token_hint").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def _claims(client: Any, token: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims, completed from the userinfo endpoint when the configured ID
    number claim is not among them.

    Raises:
        SignInRefused: no ID token, or userinfo naming another subject.
    """
    claims = token.get("userinfo")
    if not token.get("id_token") or claims is None:
        raise SignInRefused(401, "身份提供方未返回身份令牌。The provider returned no ID token.")
    claims = dict(claims)
    if _id_claim() not in claims:
        info = dict(client.userinfo(token=token))
        if info.get("sub") != claims.get("sub"):
            raise SignInRefused(401, "身份信息不一致。The provider's userinfo is for someone else.")
        claims.update({k: v for k, v in info.items() if k not in ("iss", "aud", "sub")})
    return claims


def _id_claim() -> str:
    return str(current_app.config.get("OIDC_ID_NUMBER_CLAIM") or DEFAULT_ID_NUMBER_CLAIM)


def _name_claim() -> str:
    return str(current_app.config.get("OIDC_NAME_CLAIM") or DEFAULT_NAME_CLAIM)


def _identity(claims: dict[str, Any]) -> Identity:
    """The person the provider vouches for.

    Raises:
        SignInRefused: the ID number claim is missing or not a valid ID number.
    """
    try:
        number = validate_id_number(claims.get(_id_claim()))
    except ValueError:
        # Never the value itself: it may be someone's ID number, mistyped.
        raise SignInRefused(
            401,
            "身份提供方未提供有效的公民身份号码。The provider gave no valid resident ID number"
            f" in the {_id_claim()} claim.",
        ) from None
    try:
        name = parse_text(claims.get(_name_claim()), limit=100)
    except ValueError:
        name = None
    subject = claims.get("sub")
    return Identity(
        id_number=number,
        name=name,
        subject=subject if isinstance(subject, str) else None,
        expires_at=dt.datetime.fromtimestamp(int(claims.get("exp") or 0), dt.UTC),
    )


def complete_sign_in() -> tuple[SignedIn, str]:
    """Finish the flow at the callback: check state, exchange the code (with the PKCE verifier),
    verify the ID token (signature against the JWKS, issuer, audience, expiry, nonce) and map
    the ID number to the person. Returns the person and the encrypted ID token for logout.

    Raises:
        SignInRefused: the person declined, or the answer is forged, replayed or invalid.
        Problem: 503 when the provider cannot be reached.
    """
    client = _client()
    try:
        token = client.authorize_access_token()
        claims = _claims(client, token)
    except MismatchingStateError:
        raise SignInRefused(
            400,
            "登录请求已失效或并非由本站发起,请重新登录。The sign-in request expired or did not"
            " start here: sign in again.",
        ) from None
    except OAuthError as exc:
        if exc.error == "access_denied":
            raise SignInRefused(401, "您已取消登录。You declined to sign in.") from None
        raise SignInRefused(
            400, "身份提供方拒绝了本次登录,请重新登录。The provider refused this sign-in."
        ) from None
    except (JoseError, IdentityTokenError, ValueError):
        raise SignInRefused(
            401, "身份令牌无法验证,请重新登录。The provider's ID token did not verify."
        ) from None
    except requests.RequestException:
        raise _unavailable() from None
    person = sign_in(db_session(), _identity(claims))
    return person, _fernet().encrypt(str(token["id_token"]).encode()).decode()


def keep_logout_hint(encrypted_id_token: str) -> None:
    """Keep the (encrypted) ID token in the new session, for the provider's logout."""
    session[_HINT] = encrypted_id_token


def logout_form() -> LogoutForm | None:
    """The provider's logout for this session (read before the session is ended), or ``None``
    when the session did not come from the provider or it cannot be reached."""
    hint = session.get(_HINT)
    if not oidc_enabled() or not isinstance(hint, str):
        return None
    try:
        id_token = _fernet().decrypt(hint.encode()).decode()
        endpoint = _client().load_server_metadata().get("end_session_endpoint")
    except (InvalidToken, requests.RequestException, ValueError):
        return None
    if not endpoint:
        return None
    after = current_app.config.get("OIDC_POST_LOGOUT_REDIRECT_URI") or url_for(
        "pages.signed_out", _external=True
    )
    fields = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": str(after),
        "client_id": str(current_app.config.get("OIDC_CLIENT_ID") or ""),
    }
    return LogoutForm(action=str(endpoint), fields=fields)
