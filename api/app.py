"""The Flask application: ``create_app``, the API's blueprints, request ids, logging, sessions.

Adding a resource
-----------------
1. Write ``api/resources/<name>.py`` with ``blp = Blueprint(...)`` from ``api.resources.base``
   (it parses JSON bodies with exact decimals) and its marshmallow schemas beside the views.
   Guard views with ``api.auth.require_role(...)`` below ``@blp.route``; reach the database
   with ``db_session()`` and hand it to a ``ledger`` service (views never commit).
   Return what the service returned: ``@blp.response(status, Schema)`` dumps it, and response
   schemas derive from ``api.schema.Schema`` (its dump is compiled; ``attribute=`` maps the
   ledger's names onto the answer's), so the answer is what the OpenAPI document says.
2. Import it below and add its ``blp`` to ``BLUEPRINTS``: that one line registers the routes
   and puts them in the OpenAPI document.
3. Regenerate the committed document: ``cehours openapi > api/openapi.json``.

Errors are raised, never returned: ``ledger`` errors, ``api.errors.Problem``, or
``flask_smorest.abort``; each becomes ``application/problem+json``.
"""

from __future__ import annotations

import http
import io
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any, cast

import flask_smorest
import orjson
from flask import Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest.utils import prepare_response
from sqlalchemy.pool import NullPool
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from api import docs, metrics, pages, reads, settings, texts
from api.auth import SECURITY_SCHEME
from api.config import configure
from api.db import (
    EXTENSION,
    PING_AFTER_IDLE_SECONDS,
    Database,
    close_session,
    db_engine,
    db_session,
    ping_when_idle,
    statement_timeout,
)
from api.errors import PROBLEM_JSON, Problem, handle_http_exception, register_error_handlers
from api.logs import JsonFormatter, RedactingFormatter, RequestIdFilter, configure_logging, redact
from api.resources import (
    attestations,
    cohorts,
    compliance,
    health,
    me,
    people,
    profiles,
    records,
    status_lists,
    sync,
    transcripts,
)
from api.resources import log as log_resource
from api.resources.base import ProblemSchema, loads
from ledger.db.engine import make_engine, make_session_factory
from ledger.values.id_numbers import mask_text

__all__ = [
    "BLUEPRINTS",
    "JsonFormatter",
    "RedactingFormatter",
    "RequestIdFilter",
    "create_app",
    "db_engine",
    "db_session",
    "redact",
]

BLUEPRINTS: list[flask_smorest.Blueprint] = [
    health.blp,
    records.blp,
    people.blp,
    attestations.blp,
    profiles.blp,
    compliance.blp,
    cohorts.blp,
    status_lists.blp,
    sync.blp,
    transcripts.blp,
    me.blp,
    log_resource.blp,
]
"""Every resource's blueprint, registered in this order (see the module docstring)."""

API_DESCRIPTION = """\
Continuing-education hours ledger (职称继续教育学时).

Learning platforms push records of completed hours; filing systems look people up and check
compliance. Authenticate with `Authorization: Bearer <api key>` (keys are issued with
`cehours clients add`). Hours are decimals with at most one decimal place, sent as JSON strings
or numbers and always returned as strings. Every error is `application/problem+json`
(RFC 9457). Send `X-Request-ID` to correlate logs; it is echoed (or generated) on every response.
"""

log = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with exact decimals both ways: numbers are read as ``Decimal``, and a
    ``Decimal`` is written as a string (Flask's default for it).

    Answers (``jsonify``, which ``@blp.response`` calls with what the schema dumped) are encoded
    with orjson: for a compliance answer of 160 entries the standard library's encoder takes
    0.6 ms of CPU, orjson 0.06 ms. What orjson would write differently from Flask (dates,
    dataclasses, anything unusual) goes to Flask's own ``default``, and what orjson refuses (a
    key that is not a string, an integer beyond 64 bits) to Flask's encoder, so the answer is
    what Flask would send (bar a float NaN: ``null`` here, ``NaN``, not JSON, from Flask; no
    answer has floats).
    """

    ensure_ascii = False
    sort_keys = False
    # No OPT_NON_STR_KEYS: it slows every dict down, and the schemas' answers have string keys
    # (anything else goes to Flask's encoder, which writes such keys as the standard library does).
    _OPTIONS = (
        orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_APPEND_NEWLINE
    )

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        options = self._OPTIONS
        if (self.compact is None and self._app.debug) or self.compact is False:
            options |= orjson.OPT_INDENT_2
        try:
            body = orjson.dumps(obj, default=self.default, option=options)
        except orjson.JSONEncodeError:
            try:
                return cast(Response, super().response(*args, **kwargs))
            except UnicodeEncodeError:
                # A text that is not valid Unicode (a lone surrogate) slipped through to an
                # answer: written as its \u escape, the answer is still JSON (never a 500).
                text = self.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n"
                return cast(Flask, self._app).response_class(text, mimetype=self.mimetype)
        return cast(Flask, self._app).response_class(body, mimetype=self.mimetype)


class Api(flask_smorest.Api):
    """flask-smorest's Api with problem+json errors, documented as such, and bearer auth."""

    ERROR_SCHEMA = ProblemSchema

    def init_app(self, app: Flask, *, spec_kwargs: Mapping[str, Any] | None = None) -> None:
        super().init_app(app, spec_kwargs=dict(spec_kwargs or {}))
        self.spec.components.security_scheme(
            SECURITY_SCHEME,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key from `cehours clients add`.",
            },
        )

    def _register_error_handlers(self) -> None:
        register_error_handlers(self._app)

    def _register_responses(self) -> None:
        # As flask-smorest does, but errors are documented as application/problem+json.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "An error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


class App(Flask):
    """Flask, except that a routing redirect (``//v1/records`` → ``/v1/records``) is answered as
    a problem too: Flask hands those out as HTML, bypassing every error handler."""

    def handle_http_exception(self, e: HTTPException) -> Any:
        if isinstance(e, RequestRedirect):
            return handle_http_exception(e)
        return super().handle_http_exception(e)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` overrides the defaults and ``CEHOURS_*`` variables."""
    app = App(__name__)
    configure(app, config)
    if settings.is_production(app.config):
        problems = settings.production_problems(app.config)
        if problems:
            raise settings.ProductionConfigError(problems)
    app.json = JSONProvider(app)
    # hide_parameters: a database error's message must not carry an ID number into the logs.
    # Pooled connections are tested only after sitting idle (see ping_when_idle), unless the
    # engine options ask for SQLAlchemy's test on every checkout.
    options = {"pool_pre_ping": False, **app.config["ENGINE_OPTIONS"]}
    url, lock_timeout = app.config["DATABASE_URL"], float(app.config["DB_LOCK_TIMEOUT_SECONDS"])
    pooler = bool(app.config["DB_TRANSACTION_POOLER"])
    engine = make_engine(
        url,
        lock_timeout=lock_timeout,
        statement_timeout=statement_timeout(app.config),
        hide_parameters=True,
        transaction_pooler=pooler,
        **options,
    )
    # The probe waits at most a second for a lock: a readiness check must answer quickly.
    probe = make_engine(
        url, lock_timeout=min(lock_timeout, 1.0), transaction_pooler=pooler, poolclass=NullPool
    )
    if not options["pool_pre_ping"] and engine.url.get_backend_name() != "sqlite":
        ping_when_idle(
            engine, float(app.config.get("DB_PING_AFTER_IDLE_SECONDS", PING_AFTER_IDLE_SECONDS))
        )
    metrics.instrument_engine(engine)
    app.extensions[EXTENSION] = Database(engine, make_session_factory(engine), probe)
    reads.init_app(app, engine, options)
    app.config["API_SPEC_OPTIONS"] = {"info": {"description": API_DESCRIPTION}}

    api = Api(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    pages.init_app(app)

    app.before_request(_start_request)
    app.before_request(texts.refuse_unfit_url)
    app.after_request(_finish_request)
    metrics.init_app(app)
    app.teardown_appcontext(close_session)
    configure_logging(settings.log_format(app.config))
    return app


def _start_request() -> None:
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    # A client's id is echoed and logged, so one that carries what may be an ID number is not.
    usable = _REQUEST_ID.fullmatch(given) is not None and mask_text(given) == given
    g.request_id = given if usable else uuid.uuid4().hex
    _read_streamed_body()


def _read_streamed_body() -> None:
    """Read a body sent without ``Content-Length`` (chunked) here, at the edge, up to the limit.

    Werkzeug enforces ``MAX_CONTENT_LENGTH`` on such a body by cutting it off at the limit,
    which the JSON parser would then report as malformed; read one byte more than the limit
    instead and refuse the body as too large. What was read becomes the request's body with
    its length, as if the client had sent one.
    """
    environ = request.environ
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    try:
        data = environ["wsgi.input"].read(limit + 1)
    except Exception:  # the client went away, or sent a broken chunk (the server's own errors)
        raise Problem(
            400,
            "The chunked request body is broken or ended before it was complete.",
            code="malformed-body",
            headers={"Connection": "close"},
        ) from None
    if len(data) > limit:
        raise Problem(
            413,
            f"The request body is larger than {limit} bytes.",
            code="too-large",
            headers={"Connection": "close"},
        )
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    del environ["HTTP_TRANSFER_ENCODING"]


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    client = g.get("client")
    log.info(
        "%s %s %s %.1fms client=%s",
        request.method,
        request.path,
        response.status_code,
        elapsed,
        client.id if client is not None else "-",
        # The same facts as fields, for JSON logs (the route is the URL rule: no ids in it).
        extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else None,
            "status": response.status_code,
            "duration_ms": round(elapsed, 1),
            "client": client.id if client is not None else None,
        },
    )
    return response
