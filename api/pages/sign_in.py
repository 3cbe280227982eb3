"""Signing in and out: with the identity provider's token, or the development provider."""

from __future__ import annotations

from flask import Response, redirect, request, url_for

from api.demo import DEMO_ID_NUMBER, DEMO_NAME
from api.errors import Problem
from api.identity import (
    dev_idp,
    end_browser_session,
    session_person,
    start_session,
    verify_identity_token,
)
from api.pages.base import bp, html
from ledger.values.id_numbers import mask_id_number


@bp.get("/")
def home() -> Response:
    """Home: to one's transcript when signed in, else the sign-in choices."""
    if session_person() is not None:
        return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]
    return html("pages/home.html")


@bp.get("/sign-in")
def sign_in_form() -> Response:
    """Sign in with a token from the identity provider."""
    return html("pages/sign_in.html", error=None)


@bp.post("/sign-in")
def sign_in() -> Response:
    """Accept the identity provider's token (form field ``token``) and start a session."""
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
    """End the session, on the server too: a copy of its cookie no longer signs anyone in."""
    end_browser_session()
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
