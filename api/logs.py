"""Log lines that cannot leak or lie: every logger's, the front server's included.

Whatever a line carries (a URL path, a client's request id, a driver's message, a stack trace)
goes through :func:`redact`: anything that may be a resident ID number is masked with the one
definition of that (``ledger.values.id_numbers.mask_text``), API keys and bearer tokens are cut
to their prefix. Control characters, line and paragraph separators, bidirectional overrides and
lone surrogates are escaped (``\\n`` is written as the two characters ``\\`` ``n``), so a
``%0A`` in a URL cannot start a forged line: in text logs every physical line that does not
begin with two spaces begins a record, and JSON logs are one ASCII object a line.

``configure_logging`` puts one handler on the root logger, so ``api``, ``ledger``,
``importers``, SQLAlchemy and werkzeug all write through it; ``api.front`` does the same for
gunicorn's own loggers.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from flask import g, has_request_context

from ledger.values.id_numbers import mask_text

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

_API_KEY = re.compile(r"(ceh_[0-9a-f]{8})_[A-Za-z0-9_-]+")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
# C0 and C1 controls, DEL, zero-width and bidirectional formatting characters, line and
# paragraph separators, the byte-order mark and lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FIELDS = ("method", "route", "status", "duration_ms", "client")


def redact(text: str) -> str:
    """Mask anything in a log line that looks like an ID number, an API key or a bearer token."""
    text = mask_text(text)
    text = _API_KEY.sub(r"\1_***", text)
    return _BEARER.sub(r"\1***", text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every character that could break or disguise a log line escaped."""
    return _UNSAFE.sub(_escape_one, text)


def safe(text: str) -> str:
    """Redacted and escaped: what any part of a log line is made of."""
    return escape(redact(text))


class RequestIdFilter(logging.Filter):
    """Give every record the current request id (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class RedactingFormatter(logging.Formatter):
    """Text lines: the message redacted and escaped; a stack trace, redacted and escaped line
    by line, follows indented by two spaces."""

    def __init__(self, fmt: str = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt, defaults={"request_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        record.message = safe(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = safe(self.formatMessage(record))
        extra = []
        if record.exc_info:
            extra.append(self.formatException(record.exc_info))
        if record.stack_info:
            extra.append(self.formatStack(record.stack_info))
        for block in extra:
            line += "".join("\n  " + safe(part) for part in block.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line (time, level, logger, message, request_id, exception, and the
    request's fields), every string redacted, written in ASCII (``\\uXXXX`` for the rest)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in _FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        clean = {k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}
        return json.dumps(clean, ensure_ascii=True, default=lambda v: redact(str(v)))


JsonFormatter.converter = time.gmtime


def formatter(fmt: str) -> logging.Formatter:
    """The formatter of log format ``fmt`` (``json`` or ``text``)."""
    return JsonFormatter() if fmt == "json" else RedactingFormatter()


def configure_logging(fmt: str = "text") -> None:
    """Send every logger's records to stderr through :func:`formatter`, with request ids,
    unless logging is configured already (a test runner, an embedding application).

    ``fmt`` is ``json`` (production's default: one object a line) or ``text``. The API's own
    records are kept from INFO up, the libraries' from WARNING.
    """
    root = logging.getLogger()
    if root.handlers or logging.getLogger("api").handlers:
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    logging.getLogger("api").setLevel(logging.INFO)
    logging.captureWarnings(True)  # a library's warning is a log line like any other
