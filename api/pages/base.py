"""What every page shares: the blueprint, its errors, guard and headers, and small helpers.

Errors on a page are pages (or problems, for a client that asks for ``application/problem+json``);
a view that needs a signed-in person raises :class:`ToSignIn` through :func:`signed_in` and the
browser is sent to the sign-in page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from api.errors import Problem, ledger_status, problem_response
from api.identity import csrf_matches, csrf_token, dev_idp_enabled, session_person
from ledger.access.identity import SignedIn
from ledger.compliance.catalogue import catalogue
from ledger.compliance.profile import Profile
from ledger.errors import LedgerError
from ledger.values.categories import CATEGORY_LABELS_EN, CATEGORY_LABELS_ZH, Category
from ledger.values.dates import parse_date

bp = Blueprint(
    "pages",
    "api.pages",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)

DEFAULT_PROFILE = "quzhou-annual-90"
DEFAULT_ISSUER_NAME = "继续教育学时登记服务(演示)"
"""The issuing body printed on proofs when ``ISSUER_NAME`` is not configured (the demo's)."""
CATEGORIES = [(c.value, CATEGORY_LABELS_ZH[c]) for c in Category]
CATEGORY_EN = {c.value: label for c, label in CATEGORY_LABELS_EN.items()}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
# What a proof's QR code leads to works even where browser sign-in is not configured.
_SESSIONLESS = {"pages.verify_jti", "pages.verify_code", "pages.verify_form", "pages.static"}


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/problem+json"])
    return best != "application/problem+json"


def _error_page(status: int, message: str) -> Response:
    if not _wants_html():
        return problem_response(status, message)
    page = render_template("pages/error.html", status=status, message=message)
    return Response(page, status=status, mimetype="text/html")


@bp.errorhandler(Problem)
def _on_problem(error: Problem) -> Response:
    return _error_page(error.status, error.detail or "")


@bp.errorhandler(LedgerError)
def _on_ledger_error(error: LedgerError) -> Response:
    return _error_page(ledger_status(error), str(error))


@bp.errorhandler(HTTPException)
def _on_http_error(error: HTTPException) -> Response:
    return _error_page(error.code or 500, error.description or "")


@bp.before_request
def _guard() -> None:
    if not current_app.secret_key and request.endpoint not in _SESSIONLESS:
        raise Problem(503, "Sign-in is not configured: set CEHOURS_SECRET_KEY.")
    if request.method == "POST" and not csrf_matches(request.form.get("csrf_token")):
        raise Problem(403, "表单已过期,请返回重试。The form has expired: go back and try again.")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html" or response.mimetype == "application/pdf":
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "me": session_person,
        "dev_idp": dev_idp_enabled,
        "category_labels": dict(CATEGORIES),
        "category_en": CATEGORY_EN,
        "sessions": bool(current_app.secret_key),
    }


def signed_in() -> SignedIn:
    """The signed-in person.

    Raises:
        ToSignIn: nobody is signed in (the browser is sent to the sign-in page).
    """
    person = session_person()
    if person is None:
        raise ToSignIn()
    return person


class ToSignIn(Exception):
    """Raised by views that need a signed-in person; answered with a redirect."""


@bp.errorhandler(ToSignIn)
def _to_sign_in(_: ToSignIn) -> Response:
    return redirect(url_for("pages.sign_in_form"), code=303)  # type: ignore[return-value]


def issuer_name() -> str:
    """The issuing body printed on proofs and named on the verification page as the one to
    contact (``CEHOURS_ISSUER_NAME``)."""
    return str(current_app.config.get("ISSUER_NAME") or DEFAULT_ISSUER_NAME)


def html(template: str, status: int = 200, **context: Any) -> Response:
    """A page rendered from ``template``."""
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def latest_profiles() -> list[Profile]:
    """The newest version of every profile, by id (the pages' choice of profile)."""
    return sorted(catalogue().latest(), key=lambda p: p.id)


def as_of_date(text: str | None) -> dt.date | None:
    """The as-of date a form gave, if any.

    Raises:
        Problem: 422 for a date that is not ``YYYY-MM-DD`` or out of range.
    """
    if not text:
        return None
    try:
        day = parse_date(text)
    except ValueError:
        raise Problem(422, "日期格式应为 YYYY-MM-DD。The date must be YYYY-MM-DD.") from None
    if day.year < 1990 or day.year > 2100:
        raise Problem(422, "日期超出范围。The date is out of range.")
    return day
