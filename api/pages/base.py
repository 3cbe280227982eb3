"""What every page shares: the blueprint, its errors, guard and headers, and small helpers.

Errors on a page are pages (or problems, for a client that asks for ``application/problem+json``);
a view that needs a signed-in person raises :class:`ToSignIn` through :func:`signed_in` and the
browser is sent to the sign-in page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from api.errors import Problem, ledger_status, problem_response
from api.identity import csrf_matches, csrf_token, dev_idp_enabled, session_person
from api.oidc import oidc_enabled
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


# What an error page says, by status: headline (Chinese, English) and what happened / to do.
_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("请求无效", "Bad request", "请求的内容无法处理,请返回重试。"),
    403: ("无权访问", "Forbidden", "您无权进行这项操作。"),
    404: ("页面不存在", "Page not found", "您访问的网址不存在:可能输错了,或链接已失效。"),
    405: ("不支持这种访问方式", "Method not allowed", "这个网址不接受这种请求方式,请从首页进入。"),
    413: ("提交的内容过大", "Content too large", "提交的内容超过了上限。"),
    422: ("输入有误", "Invalid input", "输入的内容有误,请返回修改。"),
    500: (
        "服务出错了",
        "Something went wrong",
        "服务遇到意外错误,已记录。请稍后重试;反馈问题时请提供下方的请求编号。",
    ),
    503: ("暂时无法服务", "Temporarily unavailable", "服务暂时无法访问数据,请稍后重试。"),
}
_OTHER_ERROR = ("请求无法完成", "The request could not be completed", "请返回首页重试。")


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/problem+json"])
    return best != "application/problem+json"


_GLOSS = re.compile(
    r"^(?P<zh>.*[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])\s*(?P<en>[A-Za-z].*)$", re.S
)


def split_gloss(message: str | None) -> tuple[str, str]:
    """A service message "中文。English." as (Chinese, English gloss). A message with no Chinese
    in it (an English detail from deeper down) is all gloss: the page's own Chinese text says
    what happened, so no English sentence stands where a Chinese reader reads."""
    if not message:
        return "", ""
    if not re.search(r"[\u4e00-\u9fff]", message):
        return "", message
    found = _GLOSS.match(message)
    if found is None:
        return message, ""
    return found["zh"], found["en"]


def error_page(
    status: int, headers: Mapping[str, str] | None = None, message: str | None = None
) -> Response:
    """An error as a page in the site's layout, Chinese first (``message``: what went wrong,
    when there is more to say than the status)."""
    headline, headline_en, text = _ERRORS.get(status, _OTHER_ERROR)
    retry = (headers or {}).get("Retry-After")
    page = render_template(
        "pages/error.html",
        status=status,
        headline=headline,
        headline_en=headline_en,
        text=text,
        message=message,
        retry_after=retry,
        request_id=g.get("request_id"),
        # The person is not looked up (that reads the database, which may be what failed).
        me=lambda: None,
    )
    response = Response(page, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    # Outside the blueprint (an unknown URL) its after_request does not run: the same headers.
    return _headers(response)


def _error_page(status: int, message: str) -> Response:
    if not _wants_html():
        return problem_response(status, message)
    return error_page(status, message=message)


@bp.errorhandler(Problem)
def _on_problem(error: Problem) -> Response:
    response = _error_page(error.status, error.detail or "")
    # A page keeps the problem's headers too (503's Retry-After).
    response.headers.update(error.headers or {})
    return response


@bp.errorhandler(LedgerError)
def _on_ledger_error(error: LedgerError) -> Response:
    return _error_page(ledger_status(error), str(error))


@bp.errorhandler(HTTPException)
def _on_http_error(error: HTTPException) -> Response:
    # werkzeug's description is English boilerplate: the page's own words say it.
    if not _wants_html():
        return problem_response(error.code or 500, error.description or "")
    return error_page(error.code or 500)


@bp.before_request
def _guard() -> None:
    if not current_app.secret_key and request.endpoint not in _SESSIONLESS:
        raise Problem(503, "登录尚未配置。Sign-in is not configured: set CEHOURS_SECRET_KEY.")
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


@bp.app_template_filter("gloss")
def gloss(message: str | None) -> Markup:
    """``{{ message|gloss }}``: a service message with its English as the page's gloss."""
    zh, en = split_gloss(message)
    if not en:
        return escape(zh)
    return escape(zh) + Markup(' <span class="en">') + escape(en) + Markup("</span>")


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "me": session_person,
        "dev_idp": dev_idp_enabled,
        "oidc": oidc_enabled,
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
