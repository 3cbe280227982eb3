"""Individuals over HTTP: the identity provider's configuration, bearer JWTs and browser sessions.

Configuration (``CEHOURS_`` environment variables, or ``create_app(config)``):

``IDP_ISSUER``, ``IDP_AUDIENCE``
    The provider's ``iss`` and the ``aud`` it puts in tokens meant for us.
``IDP_JWKS_URL`` or ``IDP_PUBLIC_KEY`` (PEM) or ``IDP_PUBLIC_KEY_FILE``
    Where the provider's public key is.
``IDP_ALGORITHMS``
    Comma-separated, asymmetric only (default ``RS256,ES256,EdDSA``).
``IDP_ID_CLAIM`` / ``IDP_NAME_CLAIM``
    The claims holding the ID number (default ``id_number``) and the name (default ``name``).
``DEV_IDP``
    ``1`` enables the development identity provider (``cehours serve --dev`` does too): when no
    provider is configured, tokens minted by ``cehours dev-idp`` (key in ``var/``) are accepted
    and ``/dev/sign-in`` is offered. Never enable it in production.

An individual calls ``/v1/me/...`` with ``Authorization: Bearer <identity JWT>``, or from a
signed-in browser (the session cookie set by ``/sign-in``); a state-changing call from a browser
session must also send the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request, session

from api.auth import bearer_key, document_bearer
from api.db import db_session
from api.errors import Problem
from ledger.access.dev_identity import DevIdentityProvider
from ledger.access.identity import (
    DEFAULT_ALGORITHMS,
    DEFAULT_ID_CLAIM,
    DEFAULT_NAME_CLAIM,
    IdentityConfig,
    IdentityVerifier,
    SignedIn,
    sign_in,
)
from ledger.access.sessions import end_session, new_session_id, session_ended
from ledger.entries.people import find_person_id
from ledger.errors import IdentityConfigError, IdentityTokenError, LedgerError

F = TypeVar("F", bound=Callable[..., Any])
_VERIFIER = "cehours_identity_verifier"
_DEV_IDP = "cehours_dev_idp"
SESSION_PERSON = "person"
SESSION_CSRF = "csrf"
SESSION_ID = "sid"
CSRF_HEADER = "X-CSRF-Token"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cehours-individual"'}


def var_dir(app: Flask) -> Path:
    """Where development secrets live (``CEHOURS_VAR_DIR``, default ``var``)."""
    return Path(app.config.get("VAR_DIR") or "var")


def dev_idp_enabled(app: Flask | None = None) -> bool:
    """Whether the development identity provider is on (``DEV_IDP``, or a ``DEV`` server)."""
    config = (app or current_app).config
    return bool(config.get("DEV_IDP") or config.get("DEV"))


def dev_idp(app: Flask | None = None) -> DevIdentityProvider:
    """The development identity provider (its key created in ``var/`` on first use).

    Raises:
        Problem: 404 when it is not enabled.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not dev_idp_enabled(app):
        raise Problem(404, "The development identity provider is not enabled.")
    provider: DevIdentityProvider | None = app.extensions.get(_DEV_IDP)
    if provider is None:
        provider = DevIdentityProvider.from_directory(var_dir(app))
        app.extensions[_DEV_IDP] = provider
    return provider


def identity_config(app: Flask) -> IdentityConfig | None:
    """The configured provider; the development one when none is and it is enabled.

    Raises:
        IdentityConfigError: the configuration is incomplete or refused.
    """
    c = app.config
    pem = c.get("IDP_PUBLIC_KEY")
    if not pem and c.get("IDP_PUBLIC_KEY_FILE"):
        pem = Path(c["IDP_PUBLIC_KEY_FILE"]).read_text()
    if c.get("IDP_ISSUER") or c.get("IDP_JWKS_URL") or pem:
        algorithms = c.get("IDP_ALGORITHMS") or DEFAULT_ALGORITHMS
        if isinstance(algorithms, str):
            algorithms = [a.strip() for a in algorithms.split(",") if a.strip()]
        return IdentityConfig(
            issuer=str(c.get("IDP_ISSUER") or ""),
            audience=str(c.get("IDP_AUDIENCE") or ""),
            algorithms=tuple(algorithms),
            jwks_url=c.get("IDP_JWKS_URL") or None,
            public_key_pem=pem or None,
            id_claim=c.get("IDP_ID_CLAIM") or DEFAULT_ID_CLAIM,
            name_claim=c.get("IDP_NAME_CLAIM") or DEFAULT_NAME_CLAIM,
        )
    if dev_idp_enabled(app):
        return dev_idp(app).config()
    return None


def identity_verifier() -> IdentityVerifier:
    """This app's verifier of identity tokens (built once).

    Raises:
        Problem: 401 when no identity provider is configured, 503 when it is misconfigured.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    verifier: IdentityVerifier | None = app.extensions.get(_VERIFIER)
    if verifier is None:
        try:
            config = identity_config(app)
        except (IdentityConfigError, OSError) as exc:
            raise Problem(
                503, f"Individual sign-in is misconfigured: {exc}", code="identity-not-configured"
            ) from None
        if config is None:
            # Not a server fault: no identity token can be valid here, so the credential is
            # refused as any unverifiable one would be.
            raise Problem(
                401,
                "Individual sign-in is not configured on this service.",
                code="identity-not-configured",
                headers=_CHALLENGE,
            )
        verifier = IdentityVerifier(config)
        app.extensions[_VERIFIER] = verifier
    return verifier


def verify_identity_token(token: str) -> SignedIn:
    """Verify a provider's token and map it to the person.

    Raises:
        Problem: 401 when the token is refused or sign-in is not configured; 503 when it is
            misconfigured.
    """
    try:
        identity = identity_verifier().verify(token)
    except IdentityTokenError as exc:
        raise Problem(
            401,
            str(exc),
            code="invalid-identity-token",
            headers={
                "WWW-Authenticate": 'Bearer realm="cehours-individual", error="invalid_token"'
            },
        ) from None
    return sign_in(db_session(), identity)


def looks_like_jwt(credential: str) -> bool:
    """A JWS compact token has three dot-separated parts; our API keys have none."""
    return credential.count(".") == 2


def csrf_token() -> str:
    """This browser session's CSRF token (created on first use)."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


def csrf_matches(given: str | None) -> bool:
    """Whether ``given`` is this session's CSRF token (constant-time)."""
    expected = session.get(SESSION_CSRF)
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


def start_session(person: SignedIn) -> None:
    """Sign a browser in: a fresh session (no fixation) with a new id, holding only the opaque
    person id, the name and the masked ID number, with a new CSRF token."""
    session.clear()
    session[SESSION_ID] = new_session_id()
    session[SESSION_PERSON] = {
        "person_id": person.person_id,
        "name": person.name,
        "id_number_masked": person.id_number_masked,
    }
    session[SESSION_CSRF] = secrets.token_urlsafe(32)
    session.permanent = True
    g.session_live = True


def end_browser_session() -> None:
    """Sign a browser out: its session is ended on the server (a copy of the cookie is refused
    from now on, by every worker), and the cookie cleared."""
    session_id = session.get(SESSION_ID)
    if isinstance(session_id, str):
        lifetime = current_app.permanent_session_lifetime
        end_session(db_session(), session_id, expires_at=dt.datetime.now(dt.UTC) + lifetime)
    session.clear()
    g.session_live = False


def _session_live() -> bool:
    """Whether this request's session cookie names a session that has not been signed out
    (asked of the database once per request)."""
    if "session_live" not in g:
        session_id = session.get(SESSION_ID)
        g.session_live = isinstance(session_id, str) and not session_ended(db_session(), session_id)
    return bool(g.session_live)


def session_person() -> SignedIn | None:
    """The person signed in on this browser session, if any (not once it was signed out)."""
    data = session.get(SESSION_PERSON)
    if not isinstance(data, dict) or not _session_live():
        return None
    return SignedIn(data.get("person_id"), data.get("name"), str(data.get("id_number_masked")))


def current_individual(*, allow_session: bool = True) -> SignedIn | None:
    """The individual making this request: from a bearer identity JWT, else the browser
    session; ``None`` when the request carries neither (e.g. an API key).

    Raises:
        Problem: 401 for a refused token; 403 for a state-changing session call without
            the CSRF token.
    """
    if "individual" in g:
        return cast(SignedIn | None, g.individual)
    credential = bearer_key()
    person: SignedIn | None = None
    if credential is not None:
        if looks_like_jwt(credential):
            person = verify_identity_token(credential)
    elif allow_session:
        person = session_person()
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if person is not None and unsafe and not csrf_matches(request.headers.get(CSRF_HEADER)):
            raise Problem(403, f"Send the session's CSRF token in {CSRF_HEADER}.", code="csrf")
    g.individual = person
    return person


def require_individual(view: F) -> F:
    """Decorate a ``/v1/me`` view: the caller must be a signed-in individual.

    Raises:
        Problem: 401 without an identity token or session.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_individual() is None:
            raise Problem(
                401,
                "Sign in: send Authorization: Bearer <identity token> from the identity"
                " provider, or use a signed-in browser session.",
                code="unauthenticated",
                headers=_CHALLENGE,
            )
        return view(*args, **kwargs)

    return document_bearer(cast(F, wrapper))


def own_person_id(body: dict[str, Any]) -> str | None:
    """The signed-in individual's person id, after checking that any ``person_id`` or
    ``id_number`` in the request names them and nobody else.

    Raises:
        Problem: 403 when the request names someone else (their data is never read).
    """
    person = current_individual()
    assert person is not None
    named = body.get("person_id")
    if named is not None and named != person.person_id:
        raise Problem(403, "An individual may only ask about themselves.", code="forbidden")
    number = body.get("id_number")
    if number is not None:
        try:
            found: str | None = find_person_id(db_session(), str(number))
        except LedgerError:
            found = None
        if found is None or found != person.person_id:
            raise Problem(403, "An individual may only ask about themselves.", code="forbidden")
    return person.person_id
