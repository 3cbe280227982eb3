"""Errors as ``application/problem+json`` (RFC 9457), for every failure the API can produce.

A view signals an error by raising: a ``ledger`` error (mapped below), :class:`Problem`, or a
werkzeug ``HTTPException`` (``flask_smorest.abort`` included). Nothing is ever answered with a
stack trace: an unexpected exception is logged with the request id and turned into a bare 500
problem. The one exception to problem+json: a browser asking for a page of the site (not the
API: :func:`wants_page`) gets the error as a page in the site's layout, rendered by what
:func:`install_error_pages` installed (``api.pages``).
"""

from __future__ import annotations

import http
import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, json, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from ledger import errors as ledger_errors
from ledger.db.faults import describe, is_unavailable
from ledger.db.transactions import is_retryable

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:cehours:problem:"
UNAVAILABLE_RETRY_AFTER = "2"
"""Seconds a caller is asked to wait after a database fault (a restart takes about that)."""

log = logging.getLogger(__name__)

ErrorPage = Callable[[int, Mapping[str, str]], Response]
"""Renders the page for an error status, with the response's headers (``Retry-After``...)."""
_ERROR_PAGE = "cehours_error_page"
# The API's own paths: always problem+json, whoever asks.
API_PREFIXES = ("/v1/", "/.well-known/")
API_PATHS = frozenset({"/openapi.json", "/metrics", "/healthz", "/readyz"})

# Domain errors and the HTTP status each becomes; the most specific class listed first wins.
LEDGER_STATUS: tuple[tuple[type[ledger_errors.LedgerError], int], ...] = (
    (ledger_errors.ValidationError, 422),
    (ledger_errors.NotFoundError, 404),
    (ledger_errors.ConflictError, 409),
    (ledger_errors.ReversalError, 409),
    (ledger_errors.LedgerError, 400),
)


class Problem(Exception):
    """An error response a view raises on purpose: ``raise Problem(403, "...")``.

    ``code`` becomes the problem ``type`` (``urn:cehours:problem:<code>``); without it the type
    is ``about:blank`` and the title the HTTP reason phrase, as RFC 9457 asks.
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or http.HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.code = code
        self.title = title
        self.errors = dict(errors) if errors is not None else None
        self.headers = dict(headers or {})


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    code: str | None = None,
    title: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build a problem+json response."""
    phrase = http.HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}" if code else "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if errors is not None:
        body["errors"] = dict(errors)
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    try:
        text = json.dumps(body).encode()
    except UnicodeEncodeError:  # a message quoting text that is not valid Unicode: escape it
        text = json.dumps(body, ensure_ascii=True).encode()
    response = current_app.response_class(text, status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install_error_pages(app: Flask, render: ErrorPage) -> None:
    """Have browsers asking for a page of the site get errors as pages rendered by ``render``."""
    app.extensions[_ERROR_PAGE] = render


def wants_page() -> bool:
    """Whether this request is a browser's for a page of the site: not an API path, and
    ``text/html`` named in ``Accept`` and preferred to JSON (so ``*/*``, ``application/json``
    and no ``Accept`` at all get problem+json)."""
    if not has_request_context():
        return False
    path = request.path
    if path.startswith(API_PREFIXES) or path in API_PATHS:
        return False
    accept = request.accept_mimetypes
    if not any(value == "text/html" and quality > 0 for value, quality in accept):
        return False
    offered = ("application/problem+json", "application/json", "text/html")
    return accept.best_match(offered) == "text/html"


def _page_or(problem: Response) -> Response:
    """``problem``, or the same error as a page when a browser asked for one."""
    render: ErrorPage | None = current_app.extensions.get(_ERROR_PAGE)
    if render is None or problem.status_code < 400 or not wants_page():
        return problem
    headers = {
        k: v
        for k, v in problem.headers.items()
        if k.lower() not in ("content-type", "content-length")
    }
    try:
        return render(problem.status_code, headers)
    except Exception:  # an error page that fails must not hide the error
        log.exception("the error page for %s could not be rendered", problem.status_code)
        return problem


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow/webargs messages into ``{"records.3.hours": ["..."]}``.

    webargs nests messages under the request location (``json``, ``query``, ``headers``); the
    body's location is left out of the path since it is the usual case.
    """
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = str(key)
            if not prefix and name == "json":
                path = ""
            elif not prefix and name in ("query", "headers", "view_args", "path"):
                path = name
            else:
                path = f"{prefix}.{name}" if prefix else name
            for sub, texts in flatten_messages(value, path).items():
                out.setdefault(sub, []).extend(texts)
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            out.setdefault(prefix or "_body", []).extend(messages)
        else:
            for index, value in enumerate(messages):
                sub_prefix = f"{prefix}.{index}" if prefix else str(index)
                for sub, texts in flatten_messages(value, sub_prefix).items():
                    out.setdefault(sub, []).extend(texts)
    else:
        out.setdefault(prefix or "_body", []).append(str(messages))
    return out


def handle_http_exception(error: HTTPException) -> Response:
    """Any werkzeug HTTP error (404, 405, 413, webargs' 422 ...) as a problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if isinstance(error, RequestRedirect):  # e.g. //v1/records: say where, as a redirect must
        headers["Location"] = error.new_url
    headers.update(data.get("headers") or {})
    errors = None
    messages = data.get("errors", data.get("messages"))
    if messages is not None:
        errors = flatten_messages(messages)
    detail = data.get("message")
    if detail is None:
        if status == 422:
            detail = "The request is not valid: see errors for each field."
        elif status == 400 and errors:
            detail = "; ".join(m for texts in errors.values() for m in texts)
        elif status >= 500:
            detail = None
        else:
            detail = error.description
    code = "validation" if status == 422 else None
    return _page_or(problem_response(status, detail, code=code, errors=errors, headers=headers))


def handle_problem(error: Problem) -> Response:
    """A :class:`Problem` raised by a view."""
    return _page_or(
        problem_response(
            error.status,
            error.detail,
            code=error.code,
            title=error.title,
            errors=error.errors,
            headers=error.headers,
        )
    )


def ledger_status(error: ledger_errors.LedgerError) -> int:
    """The HTTP status of a domain error."""
    for cls, status in LEDGER_STATUS:
        if isinstance(error, cls):
            return status
    return 400


def handle_ledger_error(error: ledger_errors.LedgerError) -> Response:
    """A domain error from ``ledger``: its message is written for callers and carries no
    personal data (the ledger never repeats an ID number in a message)."""
    errors = error.errors if isinstance(error, ledger_errors.ValidationError) else None
    return problem_response(
        ledger_status(error),
        str(error) if errors is None else "The request is not valid: see errors for each field.",
        code=error.code,
        errors=errors,
    )


def handle_unexpected(error: Exception) -> Response:
    """The last resort: log the exception with the request id; tell the caller nothing more.

    A transaction that lost to concurrent writers more often than the ledger retries it is not
    a fault of the caller nor of the service: 503 with ``Retry-After`` says to send it again
    (retrying never appends twice). Nor is a fault of the database (a killed backend, refused
    connections, a read-only, locked or full file: ``ledger.db.faults``): 503 too, and the
    next request after the database is back gets a fresh connection.
    """
    return _page_or(_unexpected_problem(error))


def _unexpected_problem(error: Exception) -> Response:
    if isinstance(error, DBAPIError) and is_retryable(error):
        log.warning("busy: %s after retries", type(error).__name__)
        return problem_response(
            503,
            "The ledger is busy with concurrent writes to the same people; retry the request.",
            code="busy",
            headers={"Retry-After": "1"},
        )
    if is_unavailable(error):
        log.warning("database unavailable: %s", describe(error))
        return problem_response(
            503,
            "The database cannot serve requests at the moment; retry the request shortly "
            "(retrying never appends twice).",
            code="database-unavailable",
            headers={"Retry-After": UNAVAILABLE_RETRY_AFTER},
        )
    log.exception("unhandled %s", type(error).__name__)
    return problem_response(
        500, "An unexpected error occurred; quote the request id when reporting it."
    )


def register_error_handlers(app: Any) -> None:
    """Install the handlers on a Flask app (the ``Api`` subclass calls this)."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(ledger_errors.LedgerError, handle_ledger_error)
    app.register_error_handler(Exception, handle_unexpected)
