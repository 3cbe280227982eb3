"""Operational endpoints: ``/healthz`` (the process answers) and ``/readyz`` (database usable)."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from sqlalchemy.exc import SQLAlchemyError

from api.db import db_engine
from api.errors import Problem
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.schema import current_revision, head_revision

blp = Blueprint("health", __name__, description="Liveness and readiness probes (no credential).")
log = logging.getLogger(__name__)


class HealthSchema(Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})


class ReadySchema(Schema):
    status = ma.fields.String(required=True, metadata={"example": "ready"})
    revision = ma.fields.String(
        required=True, metadata={"description": "the database's migration revision"}
    )


@blp.route("/healthz")
@blp.response(200, HealthSchema)
def healthz() -> dict[str, Any]:
    """The process is up

    Touches nothing else: use it as a liveness probe.
    """
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200, ReadySchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def readyz() -> dict[str, Any]:
    """The service can serve requests

    The database answers and its schema is at the migration head this code expects
    (`cehours db upgrade` brings it there). 503 otherwise.
    """
    try:
        revision = current_revision(db_engine())
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        raise Problem(503, "The database is unreachable.", code="not-ready") from None
    head = head_revision()
    if revision != head:
        raise Problem(
            503,
            f"The database is at revision {revision or 'none'}, the code expects {head}: "
            "run `cehours db upgrade`.",
            code="not-ready",
        )
    return {"status": "ready", "revision": revision}
