"""Sync from platforms, for administrators: runs, per-source status and quarantined records.

``GET /v1/sync/runs``, ``GET /v1/sync/status`` and ``GET /v1/sources/{source_id}/quarantine``.
Quarantined payloads are shown with every ID number masked.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.auth import require_role
from api.db import db_session
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.sync.quarantine import QuarantineInfo, list_quarantine
from ledger.sync.runs import RunStatus, get_sync_status, list_runs
from ledger.values.id_numbers import mask_text

blp = Blueprint(
    "sync",
    __name__,
    description="Pulling records from platforms: runs, status and quarantine (admin keys).",
)


class RunSchema(Schema):
    id = ma.fields.Integer(required=True)
    source_id = ma.fields.String(required=True, metadata={"example": "quzhou-city"})
    trigger = ma.fields.String(
        required=True, metadata={"description": "manual, scheduler or import"}
    )
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([s.value for s in RunStatus]),
    )
    started_at = ma.fields.DateTime(required=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    pages = ma.fields.Integer(required=True)
    fetched = ma.fields.Integer(required=True)
    created = ma.fields.Integer(required=True)
    duplicates = ma.fields.Integer(required=True)
    superseded = ma.fields.Integer(required=True)
    rejected = ma.fields.Integer(required=True, metadata={"description": "quarantined"})
    error = ma.fields.String(allow_none=True)


class RunListSchema(Schema):
    runs = ma.fields.List(ma.fields.Nested(RunSchema), required=True)


class RunQuerySchema(ma.Schema):
    source_id = ma.fields.String(metadata={"description": "only this source's runs"})
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=500))


class SourceStatusSchema(Schema):
    source_id = ma.fields.String(required=True)
    cursor = ma.fields.Dict(
        allow_none=True, metadata={"description": "where the next sync starts (adapter-specific)"}
    )
    quarantined = ma.fields.Integer(required=True)
    running_by = ma.fields.String(
        allow_none=True,
        attribute="lease_holder",
        metadata={"description": "holder of the live sync lease, if running"},
    )
    last_run = ma.fields.Nested(RunSchema, allow_none=True)


class StatusListSchema(Schema):
    sources = ma.fields.List(ma.fields.Nested(SourceStatusSchema), required=True)


class QuarantinedSchema(Schema):
    record_key = ma.fields.String(
        required=True, metadata={"description": "the platform's record id, or sha256:<digest>"}
    )
    external_id = ma.fields.String(allow_none=True)
    reason = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={"description": "field path to validation messages"},
    )
    payload = ma.fields.Dict(
        required=True, metadata={"description": "the record as the platform sent it, ID masked"}
    )
    first_seen_at = ma.fields.DateTime(required=True)
    last_seen_at = ma.fields.DateTime(required=True)
    times_seen = ma.fields.Integer(required=True)
    cleared_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "when a valid version arrived"}
    )


class QuarantineListSchema(Schema):
    records = ma.fields.List(ma.fields.Nested(QuarantinedSchema), required=True)


class QuarantineQuerySchema(ma.Schema):
    include_cleared = ma.fields.Boolean(load_default=False)
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


@blp.route("/v1/sync/runs")
@blp.arguments(RunQuerySchema, location="query")
@blp.response(200, RunListSchema)
@require_role("admin")
def get_runs(query: dict[str, Any]) -> dict[str, Any]:
    """List recent sync and import runs

    Newest first: when each started and ended, pages and records fetched, and what became of
    the records (created, duplicates, superseded, rejected into quarantine), or the error.
    """
    return {"runs": list_runs(db_session(), query.get("source_id"), limit=query["limit"])}


@blp.route("/v1/sync/status")
@blp.response(200, StatusListSchema)
@require_role("admin")
def get_status() -> dict[str, Any]:
    """Show each pulled source's sync status

    Its last run, saved cursor, number of records in quarantine, and whether a sync holds its
    lease right now.
    """
    return {"sources": get_sync_status(db_session())}


def _shown(q: QuarantineInfo) -> dict[str, Any]:
    return {
        "record_key": mask_text(q.record_key),
        "external_id": mask_text(q.external_id) if q.external_id else None,
        "reason": q.reason,
        "payload": q.payload,
        "first_seen_at": q.first_seen_at,
        "last_seen_at": q.last_seen_at,
        "times_seen": q.times_seen,
        "cleared_at": q.cleared_at,
    }


@blp.route("/v1/sources/<string:source_id>/quarantine")
@blp.arguments(QuarantineQuerySchema, location="query")
@blp.response(200, QuarantineListSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_role("admin")
def get_quarantine(query: dict[str, Any], source_id: str) -> dict[str, Any]:
    """List a source's quarantined records

    Records the platform sent that failed validation, with the reasons and the payload as sent
    (ID numbers masked). A record leaves quarantine when the platform sends a valid version.
    """
    items = list_quarantine(
        db_session(),
        source_id,
        include_cleared=query["include_cleared"],
        limit=query["limit"],
    )
    return {"records": [_shown(q) for q in items]}
