"""Signing in and out: through the OpenID Provider (``api.pages.oidc``) or, in development mode
only, with a pasted identity token or the development provider."""

from __future__ import annotations

from flask import Response, redirect, request, url_for

from api.demo import DEMO_ID_NUMBER, DEMO_NAME
from api.errors import Problem
from api.identity import (
    dev_idp,
    dev_idp_enabled,
    end_browser_session,
    session_person,
    start_session,
    verify_identity_token,
)
from api.oidc import logout_form
from api.pages.base import bp, html
from api.pages.oidc import provider_sign_out
from ledger.values.id_numbers import mask_id_number


@bp.get("/")
def home() -> Response:
    """Home: to one's transcript when signed in, else the sign-in choices."""
    if session_person() is not None:
        return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]
    return html("pages/home.html")


@bp.get("/sign-in")
def sign_in_form() -> Response:
    """How to sign in here: the provider's button; the token box in development mode only;
    else a page saying that sign-in is not configured."""
    return html("pages/sign_in.html", error=None)


@bp.post("/sign-in")
def sign_in() -> Response:
    """Development mode: accept an identity token (form field ``token``) and start a session.

    Raises:
        Problem: 404 outside development mode (people sign in through the provider there).
    """
    if not dev_idp_enabled():
        raise Problem(404, "此登录方式仅用于开发环境。Token sign-in is for development only.")
    token = request.form.get("token", "").strip()
    try:
        person = verify_identity_token(token)
    except Problem as exc:
        if exc.status != 401:
            raise
        return html("pages/sign_in.html", status=401, error=exc.detail)
    start_session(person)
    return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]


@bp.post("/sign-out")
def sign_out() -> Response:
    """End the session, on the server too: a copy of its cookie no longer signs anyone in; then,
    for a session that came from the provider, sign out there too."""
    at_provider = logout_form()
    end_browser_session()
    if at_provider is not None:
        return provider_sign_out(at_provider)
    return redirect(url_for("pages.home"), code=303)  # type: ignore[return-value]


@bp.get("/dev/sign-in")
def dev_sign_in_form() -> Response:
    """The development identity provider's page (404 unless enabled)."""
    dev_idp()
    return html(
        "pages/dev_sign_in.html",
        demo_name=DEMO_NAME,
        demo_masked=mask_id_number(DEMO_ID_NUMBER),
        error=None,
    )


@bp.post("/dev/sign-in")
def dev_sign_in() -> Response:
    """Mint a development token and sign in with it, exactly as with the real provider."""
    provider = dev_idp()
    name: str | None
    if request.form.get("who") == "demo":
        number, name = DEMO_ID_NUMBER, DEMO_NAME
    else:
        number = request.form.get("id_number", "").strip()
        name = request.form.get("name", "").strip() or None
    try:
        token = provider.mint(number, name)
    except ValueError as exc:
        return html(
            "pages/dev_sign_in.html",
            status=422,
            demo_name=DEMO_NAME,
            demo_masked=mask_id_number(DEMO_ID_NUMBER),
            error=str(exc),
        )
    start_session(verify_identity_token(token))
    return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]
