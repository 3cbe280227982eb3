"""Signing in and out through the province's OpenID Provider (``api.oidc`` does the protocol)."""

from __future__ import annotations

import base64
import hashlib

from flask import Response, redirect, render_template, url_for

from api.errors import Problem
from api.identity import session_person, start_session
from api.oidc import (
    LogoutForm,
    SignInRefused,
    authorization_redirect,
    complete_sign_in,
    keep_logout_hint,
    oidc_enabled,
)
from api.pages.base import CSP, bp, html

# The one script of the site: it submits the sign-out form to the provider at once (the button
# does the same without scripts). The Content-Security-Policy allows it by its hash alone.
AUTO_SUBMIT = 'document.getElementById("provider-sign-out").submit();'
_AUTO_SUBMIT_HASH = base64.b64encode(hashlib.sha256(AUTO_SUBMIT.encode()).digest()).decode()


def _require_oidc() -> None:
    if not oidc_enabled():
        raise Problem(404, "未配置统一身份认证登录。OpenID Connect sign-in is not configured.")


@bp.get("/sign-in/oidc")
def oidc_start() -> Response:
    """Off to the provider's login page (state, nonce and the PKCE verifier kept here)."""
    _require_oidc()
    return authorization_redirect()  # type: ignore[no-any-return]


@bp.get("/sign-in/callback")
def oidc_callback() -> Response:
    """The provider's answer: a session for the person it vouches for, or a page saying why not."""
    _require_oidc()
    try:
        person, hint = complete_sign_in()
    except SignInRefused as refused:
        return html("pages/sign_in_failed.html", status=refused.status, message=refused.message)
    start_session(person)
    keep_logout_hint(hint)
    return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]


def provider_sign_out(form: LogoutForm) -> Response:
    """This browser's session is already ended; the page POSTs the logout to the provider."""
    page = render_template("pages/provider_sign_out.html", form=form, script=AUTO_SUBMIT)
    response = Response(page, status=200, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        CSP.replace("form-action 'self'", f"form-action 'self' {form.origin}")
        + f"; script-src 'sha256-{_AUTO_SUBMIT_HASH}'"
    )
    return response


@bp.get("/signed-out")
def signed_out() -> Response:
    """Where the provider sends the browser back after its logout (the session here was ended
    before: a GET never signs anyone out, so a link from elsewhere cannot)."""
    if session_person() is not None:
        return redirect(url_for("pages.transcript"), code=303)  # type: ignore[return-value]
    return html("pages/signed_out.html")
