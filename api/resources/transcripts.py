"""Transcripts over HTTP: ``GET /v1/people/{person_id}/transcript`` (filing and admin keys).

The individual's own transcript is ``GET /v1/me/transcript`` (:mod:`api.resources.me`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import marshmallow as ma

from api.auth import bearer_key, require_role
from api.errors import Problem
from api.fields import Hours, Inline, YearTotals
from api.identity import looks_like_jwt, session_person
from api.reads import read_session, replica_reads
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.compliance.transcripts import EntryStatus, Transcript, build_transcript

blp = Blueprint(
    "transcripts",
    __name__,
    description="A person's transcript: every entry with its source and status, yearly totals.",
)

F = TypeVar("F", bound=Callable[..., Any])
HOURS = {"description": "hours as a decimal string", "example": "18.5"}
# Personal data: never kept by a shared cache.
PRIVATE = {"Cache-Control": "private, no-store"}


# The answer is dumped from the ledger's Transcript; ``attribute`` names where a member is held.


class TranscriptSourceSchema(Schema):
    id = ma.fields.String(required=True, attribute="source_id")
    name = ma.fields.String(required=True, attribute="source_name")
    kind = ma.fields.String(required=True, attribute="source_kind", metadata={"example": "city"})


class TranscriptCourseSchema(Schema):
    code = ma.fields.String(allow_none=True, attribute="course_code")
    title = ma.fields.String(allow_none=True, attribute="course_title")
    provider = ma.fields.String(allow_none=True, attribute="course_provider")


class TranscriptEntrySchema(Schema):
    entry_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "credit or reversal"})
    source = Inline(TranscriptSourceSchema, required=True)
    external_id = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    hours = Hours(required=True, metadata={**HOURS, "description": "negative for a reversal"})
    completed_on = ma.fields.Date(required=True)
    year = ma.fields.Integer(required=True)
    course = Inline(TranscriptCourseSchema, required=True)
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([s.value for s in EntryStatus]),
        metadata={
            "description": "counted; reversed; superseded (by a corrected record); duplicate"
            " (the same completion registered on another platform: counted once); reversal"
            " (the correcting entry itself)"
        },
    )
    reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "why it was reversed or corrected (the platform's words)"},
    )
    detail = ma.fields.String(allow_none=True)
    related_entry_id = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "the reversal, the correcting entry, or the twin that counts"},
    )
    hash = ma.fields.String(
        required=True,
        metadata={
            "description": "the entry's chain hash (hex); its leaf in the log "
            "(/v1/log/proof/inclusion) is SHA-256(0x00 || these 32 bytes)",
            "example": "9f2c...64 hex digits",
        },
    )


class TranscriptLedgerSchema(Schema):
    head_hash = ma.fields.String(allow_none=True)
    entry_count = ma.fields.Integer(required=True)


class TranscriptSchema(Schema):
    person_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    id_number_masked = ma.fields.String(required=True, metadata={"example": "330802********123X"})
    generated_on = ma.fields.Date(required=True)
    totals = YearTotals(
        required=True, metadata={"description": "year -> category (and total) -> counted hours"}
    )
    entries = ma.fields.List(ma.fields.Nested(TranscriptEntrySchema), required=True)
    ledger = Inline(TranscriptLedgerSchema, required=True)


def refuse_individuals(view: F) -> F:
    """Answer 403 to an individual (identity token or browser session) before the API-key
    check: a person reaches their own transcript at ``/v1/me/transcript`` only."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        credential = bearer_key()
        individual = looks_like_jwt(credential) if credential else session_person() is not None
        if individual:
            raise Problem(
                403,
                "Individuals see their own transcript at /v1/me/transcript.",
                code="forbidden",
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)


@blp.route("/v1/people/<string:person_id>/transcript")
@blp.response(200, TranscriptSchema)
@blp.alt_response(404, response="NOT_FOUND")
@refuse_individuals
@require_role("filing")
@replica_reads
def person_transcript(person_id: str) -> tuple[Transcript, dict[str, str]]:
    """A person's transcript (filing systems)

    Every entry with its source, course, date, hours and status (counted, reversed,
    superseded, duplicate of another platform's entry), and counted hours per year and
    category. 404 for an unknown person.
    """
    return build_transcript(read_session(), person_id), PRIVATE
