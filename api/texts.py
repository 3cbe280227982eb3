"""Texts in the URL: a path or query string that is not UTF-8, or that holds a NUL, is refused.

Werkzeug decodes a URL's percent-encoded bytes leniently (bytes that are not UTF-8 become
U+FFFD), so such a URL would otherwise reach a view as some other text than the one sent; and a
``%00`` reaches PostgreSQL, which cannot compare a text holding NUL and fails the statement.
Both are the caller's mistake: 400, as problem+json, naming the part of the URL. Bodies are
checked field by field by the body parser (``api.resources.base``).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import request

from api.errors import Problem
from ledger.values.texts import unicode_problem


def _problem_in(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "is not valid UTF-8 once percent-decoded"
    return unicode_problem(text)


def _raw_target() -> tuple[bytes, bytes]:
    """The request target's path and query as the client sent them, percent-decoded: from the
    server's ``RAW_URI`` (gunicorn, werkzeug) or ``REQUEST_URI``, else rebuilt from PATH_INFO
    (the path's bytes as a latin-1 string, PEP 3333) and QUERY_STRING."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str):
        target = raw.encode("latin-1", "replace")
        if target.startswith((b"http://", b"https://")):  # an absolute-form request target
            target = b"/" + target.split(b"/", 3)[-1] if target.count(b"/") >= 3 else b"/"
        path, _, query = target.partition(b"?")
        return unquote_to_bytes(path), query
    path = environ.get("PATH_INFO", "")
    return path.encode("latin-1", "replace"), request.query_string


def refuse_unfit_url() -> None:
    """A ``before_request`` hook: refuse a URL whose path or query is not text we can use.

    Raises:
        Problem: 400 naming ``path`` or ``query``.
    """
    path, query = _raw_target()
    errors: dict[str, list[str]] = {}
    problem = _problem_in(path)
    if problem is not None:
        errors["path"] = [problem]
    if query:
        # Each name and value is percent-decoded on its own; "+" is a space and decodes alike.
        problem = _problem_in(unquote_to_bytes(query.replace(b"+", b" ")))
        if problem is not None:
            errors["query"] = [problem]
    if errors:
        raise Problem(
            400,
            "The URL is not valid text: see errors.",
            code="invalid-text",
            errors=errors,
        )
