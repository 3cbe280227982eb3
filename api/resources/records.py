"""Records pushed by learning platforms: ``POST /v1/records`` and reversals.

The envelope (``{"records": [...]}``, at most 1,000) is validated here; each record is validated
by the ledger (``append_records`` → ``parse_record``), so that one bad record is ``rejected``
with its own ``errors`` while the others are kept. The record schema below documents the
fields for the OpenAPI document; it is not what checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from api import metrics
from api.auth import current_client, require_role
from api.db import db_session
from api.errors import Problem
from api.fields import OptionalDict, OptionalInteger, PassThrough, Reason
from api.idempotency import IdempotencyHeaderSchema, idempotent
from api.resources.base import Blueprint, PerItem
from api.schema import Schema
from ledger.access.clients import ClientInfo
from ledger.entries.append import MAX_BATCH, Status, append_records
from ledger.entries.records import COURSE_LIMITS, MAX_EXTERNAL_ID, MAX_NAME
from ledger.entries.reversal import reverse_record
from ledger.values.categories import Category
from ledger.values.hours import MAX_HOURS_PER_RECORD

blp = Blueprint(
    "records",
    __name__,
    description="Completed hours pushed by learning platforms (platform keys, own source only).",
)

STATUSES = (
    Status.CREATED,
    Status.DUPLICATE,
    Status.CONFLICT,
    Status.SUPERSEDED,
    Status.REJECTED,
)


class CourseSchema(ma.Schema):
    code = ma.fields.String(validate=ma.validate.Length(1, COURSE_LIMITS["code"]))
    title = ma.fields.String(validate=ma.validate.Length(1, COURSE_LIMITS["title"]))
    provider = ma.fields.String(validate=ma.validate.Length(1, COURSE_LIMITS["provider"]))


class RecordSchema(ma.Schema):
    """One completion as a platform reports it."""

    external_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, MAX_EXTERNAL_ID),
        metadata={"description": "the platform's own id of this completion; unique per source"},
    )
    id_number = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^[1-9][0-9]{16}[0-9X]$"),
        metadata={"description": "18-character resident ID number; the check character counts"},
    )
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, MAX_NAME))
    category = ma.fields.String(
        required=True, validate=ma.validate.OneOf([c.value for c in Category])
    )
    hours = ma.fields.Raw(
        required=True,
        metadata={
            "description": "> 0 and at most 200, at most one decimal place: a string such as "
            '"1.5" or a JSON number such as 12',
            "oneOf": [
                {"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9])?$", "example": "1.5"},
                {
                    "type": "number",
                    "exclusiveMinimum": True,
                    "minimum": 0,
                    "maximum": int(MAX_HOURS_PER_RECORD),
                },
            ],
        },
    )
    completed_on = ma.fields.Date(
        required=True,
        metadata={"description": "date of completion (Asia/Shanghai); decides the year"},
    )
    course = ma.fields.Nested(CourseSchema)
    supersede = ma.fields.Boolean(
        metadata={
            "description": "true: replace a record held with the same external_id and different "
            "content (a reversal and a new entry are appended; status `superseded`)"
        }
    )
    source = ma.fields.String(
        metadata={"description": "optional; if given it must be the key's own source (else 403)"}
    )


class _UncheckedRecord(PerItem, PassThrough):
    """Documented as :class:`RecordSchema`, passed through unchanged: the ledger validates each
    record and reports its errors per record instead of refusing the whole request."""


class RecordsBatchSchema(ma.Schema):
    records = ma.fields.List(
        _UncheckedRecord(RecordSchema, allow_none=True),
        required=True,
        validate=ma.validate.Length(1, MAX_BATCH),
        metadata={"description": f"1 to {MAX_BATCH} records"},
    )


class SourceQuerySchema(ma.Schema):
    source = ma.fields.String(
        metadata={
            "description": "the source written to: optional for a platform key (it is the key's "
            "own source; another one is 403), required for an admin key"
        }
    )


class RecordResultSchema(Schema):
    external_id = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null if the record had none (or none that is valid text)"},
    )
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    # Left out, not null, when there is none: a rejected record has no entry, and only rejected
    # and conflicting records have errors.
    entry_id = OptionalInteger(
        metadata={"description": "the ledger entry now holding this record (not for rejected)"}
    )
    errors = OptionalDict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "for rejected and conflict: field path -> messages"},
    )


class BatchResultSchema(Schema):
    results = ma.fields.List(
        ma.fields.Nested(RecordResultSchema),
        required=True,
        metadata={"description": "one per record sent, in the same order"},
    )
    counts = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(STATUSES)),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "how many records got each status"},
    )


class ReversalSchema(ma.Schema):
    reason = Reason(required=True)


class ReversalResultSchema(Schema):
    external_id = ma.fields.String(required=True)
    entry_id = ma.fields.Integer(required=True, metadata={"description": "the reversal entry"})
    reversed_entry_id = ma.fields.Integer(
        required=True, metadata={"description": "the credit it cancels"}
    )


def _actor(client: ClientInfo) -> str:
    return f"client:{client.id}:{client.name}"[:128]


def _source_for(client: ClientInfo, named: str | None) -> str:
    """The source this caller writes: a platform key's own; an admin names one."""
    if client.role == "platform":
        assert client.source_id is not None
        if named is not None and named != client.source_id:
            raise Problem(403, "This key may only write its own source.", code="forbidden")
        return client.source_id
    if not named:
        raise Problem(
            422,
            "An admin key must name the source: ?source=<source id>.",
            code="validation",
            errors={"query.source": ["required for an admin key"]},
        )
    return named


def _without_own_source(records: list[Any], source_id: str) -> list[Any]:
    """Drop a ``source`` member naming the caller's source; any other source is a 403."""
    out: list[Any] = []
    for raw in records:
        if isinstance(raw, Mapping) and "source" in raw:
            if raw["source"] != source_id:
                raise Problem(
                    403, "A record names a source this key may not write.", code="forbidden"
                )
            raw = {k: v for k, v in raw.items() if k != "source"}
        out.append(raw)
    return out


@blp.route("/v1/records", methods=["POST"])
@require_role("platform")
@idempotent
@blp.arguments(IdempotencyHeaderSchema, location="headers")
@blp.arguments(SourceQuerySchema, location="query")
@blp.arguments(RecordsBatchSchema)
@blp.response(200, BatchResultSchema)
def post_records(
    _headers: dict[str, Any], query: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """Push a batch of records

    Up to 1,000 records. The answer has one result per record, in order, with `status`:
    `created` (a new entry), `duplicate` (identical record already held: nothing appended),
    `conflict` (same `external_id`, different content: nothing appended; send it again with
    `"supersede": true` to replace it), `superseded` (the earlier content was reversed and the
    new appended) or `rejected` (invalid: `errors` says why, field by field). Valid records are
    kept even when others are rejected. Retrying never appends twice; with an
    `Idempotency-Key` the retry also gets the first answer back verbatim.
    """
    client = current_client()
    source_id = _source_for(client, query.get("source"))
    records = _without_own_source(body["records"], source_id)
    results = append_records(db_session(), source_id, records, actor=_actor(client))
    metrics.count_records(source_id, (result.status for result in results))
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    return {"results": results, "counts": counts}


@blp.route("/v1/records/<path:external_id>/reversal", methods=["POST"])
@require_role("platform")
@idempotent
@blp.arguments(IdempotencyHeaderSchema, location="headers")
@blp.arguments(SourceQuerySchema, location="query")
@blp.arguments(ReversalSchema)
@blp.response(201, ReversalResultSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def post_reversal(
    _headers: dict[str, Any], query: dict[str, Any], body: dict[str, Any], external_id: str
) -> dict[str, Any]:
    """Reverse a record

    Appends a reversal cancelling the record's current credit, with the reason given. The
    `external_id` is a path segment: percent-encode it (`/` as `%2F`). 404 if the source holds
    no such record, 409 if it is already reversed.
    """
    client = current_client()
    source_id = _source_for(client, query.get("source"))
    result = reverse_record(
        db_session(), source_id, external_id, reason=body["reason"], actor=_actor(client)
    )
    metrics.REVERSALS.labels(source_id).inc()
    metrics.count_status_change("stale", result.stale_attestations)
    return {
        "external_id": external_id,
        "entry_id": result.entry_id,
        "reversed_entry_id": result.reversed_entry_id,
    }
