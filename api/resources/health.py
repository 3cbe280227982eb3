"""Operational endpoints: ``/healthz`` (the process answers) and ``/readyz`` (database usable)."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from sqlalchemy.exc import SQLAlchemyError

from api.db import db_engine, probe_engine
from api.errors import UNAVAILABLE_RETRY_AFTER, Problem
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.db.faults import describe, fault_name
from ledger.db.probes import write_problem
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

    The database answers, its schema is at the migration head this code expects
    (`cehours db upgrade` brings it there) and it would take a write now: not refusing
    connections, not read-only (a SQLite file or a PostgreSQL standby), not held locked by
    another process, not on a full disk. 503 with `Retry-After` otherwise, saying which.
    """
    try:
        revision = current_revision(db_engine())
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable (%s)", describe(exc))
        raise _not_ready(f"The database is unreachable: {fault_name(exc)}.") from None
    head = head_revision()
    if revision != head:
        raise _not_ready(
            f"The database is at revision {revision or 'none'}, the code expects {head}: "
            "run `cehours db upgrade`."
        )
    problem = write_problem(probe_engine())
    if problem is not None:
        log.warning("readiness: the database would refuse a write (%s)", problem)
        raise _not_ready(f"The database would refuse a write: {problem}.")
    return {"status": "ready", "revision": revision}


def _not_ready(detail: str) -> Problem:
    return Problem(503, detail, code="not-ready", headers={"Retry-After": UNAVAILABLE_RETRY_AFTER})
