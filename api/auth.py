"""API-key authentication (``Authorization: Bearer <key>``) and role checks for views.

Usage in a resource module::

    @blp.route("/v1/people/lookup", methods=["POST"])
    @blp.arguments(LookupSchema)
    @blp.response(200, PersonSchema)
    @require_role("filing", "admin")
    def lookup(args): ...
        caller = current_client()

``require_role`` must sit below ``@blp.route`` (and the other ``blp`` decorators) so that the
security requirement and the 401/403 responses it documents reach the OpenAPI document. An
``admin`` key passes every role check, as the contract lets administrators do everything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar, cast

from flask import current_app, g, request

from api.db import db_session
from api.errors import Problem
from ledger.access.clients import ClientInfo, Role, authenticate

SECURITY_SCHEME = "bearerAuth"
KEY_CACHE_SECONDS = 5
"""Default of ``AUTH_CACHE_SECONDS``: how long a worker trusts a key it has checked."""
F = TypeVar("F", bound=Callable[..., Any])
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cehours"'}


def bearer_key() -> str | None:
    """The key in the request's ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def authenticated_client() -> ClientInfo:
    """The caller, authenticated once per request.

    Raises:
        Problem: 401 when the key is missing, unknown, malformed or revoked.
    """
    cached = g.get("client")
    if cached is not None:
        return cast(ClientInfo, cached)
    key = bearer_key()
    if key is None:
        raise Problem(
            401,
            "Send an API key: Authorization: Bearer <key>.",
            code="unauthenticated",
            headers=_CHALLENGE,
        )
    # A worker trusts a key it checked less than AUTH_CACHE_SECONDS ago without asking the
    # database again (a lookup is a transaction of its own, a large part of a cheap request).
    # A revocation by `cehours clients revoke` therefore takes effect within that time.
    max_age = float(current_app.config.get("AUTH_CACHE_SECONDS", KEY_CACHE_SECONDS))
    client = authenticate(db_session(), key, max_age=max_age)
    if client is None:
        # One answer for unknown, malformed and revoked keys: nothing to learn by probing.
        raise Problem(
            401,
            "The API key is not valid (unknown or revoked).",
            code="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="cehours", error="invalid_token"'},
        )
    g.client = client
    return client


def current_client() -> ClientInfo:
    """The authenticated caller of this request (name, role, source_id).

    Raises:
        Problem: 401, as :func:`authenticated_client`.
    """
    return authenticated_client()


def require_role(*roles: str) -> Callable[[F], F]:
    """Decorate a view so that only keys with one of ``roles`` (or ``admin``) may call it.

    Also documents the bearer security requirement and the 401 and 403 responses.
    """
    unknown = set(roles) - set(Role)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    allowed = {*roles, "admin"}

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            client = authenticated_client()
            if client.role not in allowed:
                raise Problem(
                    403,
                    f"A {client.role} key may not do this; it needs one of: "
                    f"{', '.join(sorted(allowed))}.",
                    code="forbidden",
                )
            return view(*args, **kwargs)

        return document_bearer(cast(F, wrapper))

    return decorator


def document_bearer(view: F) -> F:
    """Document on ``view`` the bearer security requirement and its 401 and 403 responses.

    For guards other than :func:`require_role`; flask-smorest reads the documentation its
    decorators leave in ``_apidoc``.
    """
    doc = deepcopy(getattr(view, "_apidoc", {}))
    doc.setdefault("manual_doc", {})["security"] = [{SECURITY_SCHEME: []}]
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    responses.setdefault(401, []).append("UNAUTHORIZED")
    responses.setdefault(403, []).append("FORBIDDEN")
    view._apidoc = doc  # type: ignore[attr-defined]
    return view
