"""gunicorn, the front server, answering and logging as the application does.

gunicorn refuses some requests before the application sees them: a request line over
``limit_request_line`` (4094 bytes: the URL's limit), header fields over
``limit_request_field_size`` (8190 bytes) or more than ``limit_request_fields`` (100), and
anything malformed (a broken request line, header or chunk, an unsupported transfer coding).
Its own answers are HTML pages, and its log lines repeat the offending input. gunicorn lets
both be replaced without patching it: :class:`ProblemWorker` (its threaded worker) answers
those refusals as ``application/problem+json`` with the right status, and :class:`Logger`
writes gunicorn's lines through the application's formatters (``api.logs``: redacted,
escaped, JSON in production) without the request's content.

Why not another front server: gunicorn's limits and pre-fork workers are what the service has
been measured and load-tested with (``bench/``); the two hooks it documents (``worker_class``,
``logger_class``) are enough to put its edge under the contract.
"""

from __future__ import annotations

import http
import json
import uuid
from typing import Any

from gunicorn import glogging, util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from api.logs import formatter

PROBLEM_JSON = "application/problem+json"

_MALFORMED = (
    http_errors.InvalidRequestLine,
    http_errors.InvalidRequestMethod,
    http_errors.InvalidHTTPVersion,
    http_errors.InvalidHeader,
    http_errors.InvalidHeaderName,
    http_errors.ObsoleteFolding,
    http_errors.InvalidChunkSize,
    http_errors.ChunkMissingTerminator,
    http_errors.InvalidChunkExtension,
    http_errors.InvalidProxyLine,
    http_errors.InvalidProxyHeader,
    http_errors.InvalidSchemeHeaders,
    http_errors.InvalidH2CPreface,
    http_errors.NoMoreData,
)
# The most specific first: a refusal, its status, its problem code and what to tell the client
# (never the input itself).
_APP_FAULTS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)
_Kinds = type[BaseException] | tuple[type[BaseException], ...]
_REFUSALS: tuple[tuple[_Kinds, int, str, str], ...] = (
    (
        http_errors.LimitRequestLine,
        414,
        "uri-too-long",
        "The request line (method and URL) is longer than 4094 bytes.",
    ),
    (
        http_errors.LimitRequestHeaders,
        431,
        "headers-too-large",
        "The request's header fields are too large or too many (at most 100 fields of 8190 bytes).",
    ),
    (
        http_errors.UnsupportedTransferCoding,
        501,
        "unsupported-transfer-coding",
        "The request's Transfer-Encoding is not supported: send chunked or a Content-Length.",
    ),
    (
        http_errors.ExpectationFailed,
        417,
        "expectation-failed",
        "The request's Expect header cannot be met.",
    ),
    (http_errors.ForbiddenProxyRequest, 403, "forbidden", "Proxy requests are not accepted."),
    (
        _MALFORMED,
        400,
        "malformed-request",
        "The request is not well-formed HTTP/1.1 (request line, headers or chunked body).",
    ),
)


def refusal(exc: BaseException) -> tuple[int, str, str]:
    """The status, problem code and detail gunicorn's refusal ``exc`` is answered with (a
    header the application tried to send is the application's fault: 500)."""
    for kinds, status, code, detail in _REFUSALS:
        if isinstance(exc, kinds) and not isinstance(exc, _APP_FAULTS):
            return status, code, detail
    return 500, "", "An unexpected error occurred; quote the request id when reporting it."


def problem_bytes(status: int, code: str, detail: str, request_id: str) -> bytes:
    """A whole HTTP/1.1 response carrying a problem, closing the connection."""
    phrase = http.HTTPStatus(status).phrase
    body = json.dumps(
        {
            "type": f"urn:cehours:problem:{code}" if code else "about:blank",
            "title": phrase,
            "status": status,
            "detail": detail,
            "request_id": request_id,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ProblemWorker(ThreadWorker):
    """gunicorn's threaded worker, answering what it refuses as problem+json."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, code, detail = refusal(exc)
        request_id = uuid.uuid4().hex
        peer = addr[0] if addr else "-"
        extra = {"request_id": request_id, "status": status}
        if status >= 500:
            self.log.exception(
                "front server error %s (from %s)", type(exc).__name__, peer, extra=extra
            )
        else:
            # The exception's text repeats the input (the URL, a header): it is not logged.
            self.log.warning("refused a request from %s: %s %s", peer, status, code, extra=extra)
        try:
            util.write_nonblock(client, problem_bytes(status, code, detail, request_id))
        except OSError:
            self.log.debug("the client left before the refusal was sent")


class Logger(glogging.Logger):
    """gunicorn's logger, its lines written by the application's formatter (``api.logs``)."""

    log_format = "text"
    """``json`` or ``text``; ``cehours serve`` sets it from ``CEHOURS_LOG_FORMAT``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter(self.log_format))


def logger_class(fmt: str) -> type[Logger]:
    """A :class:`Logger` writing ``fmt`` (``json`` or ``text``) lines."""
    return type("CehoursLogger", (Logger,), {"log_format": fmt})
