"""Cohorts over HTTP: ``POST /v1/compliance/batch`` evaluates a profile for up to 1,000 people.

The envelope is validated here; each person by the ledger (``evaluate_cohort`` →
``parse_member``), so that one malformed or unknown person gets an error of their own while the
others are evaluated. Each person's ``compliance`` is dumped by the same schema as ``POST
/v1/compliance``'s answer, from the same evaluation: it is that answer.
"""

from __future__ import annotations

import http
from typing import Any

import marshmallow as ma

from api.auth import require_role
from api.errors import TYPE_PREFIX, ledger_status
from api.fields import IdNumber, PassThrough
from api.reads import read_session, replica_reads
from api.resources.base import Blueprint, ProblemSchema
from api.resources.compliance import ComplianceSchema, EvaluatedProfileSchema
from api.resources.profiles import installed_profiles
from api.schema import Schema
from ledger.compliance.cohorts import MAX_COHORT, MAX_REF, CohortResult, evaluate_cohort
from ledger.compliance.facts import resolve_frame
from ledger.errors import LedgerError, ValidationError

blp = Blueprint(
    "cohorts",
    __name__,
    description="Compliance of many applicants at once: a filing season, an audit (filing, admin).",
)


class MemberSchema(ma.Schema):
    """One person of the cohort (documented here, checked by the ledger person by person)."""

    id_number = IdNumber(instead="person_id")
    person_id = ma.fields.String(
        validate=ma.validate.Length(1, 32), metadata={"description": "opaque person id"}
    )
    ref = ma.fields.String(
        validate=ma.validate.Length(1, MAX_REF),
        metadata={"description": "your own reference (an application number); echoed back"},
    )


class _UncheckedMember(PassThrough):
    """Documented as :class:`MemberSchema`, passed through unchanged: the ledger checks each
    person and answers a bad one with an error of its own instead of refusing the batch."""


class CohortRequestSchema(ma.Schema):
    profile = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 80),
        metadata={
            "description": "profile id, optionally `id@version`",
            "example": "quzhou-2020-intermediate",
        },
    )
    as_of = ma.fields.Date(
        metadata={"description": "evaluate as of this date (default: the profile's, else today)"}
    )
    industry_platform = ma.fields.Boolean(
        metadata={"description": "as in `POST /v1/compliance`, for every person"}
    )
    include_entries = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "list every person's entries with their verdicts (default false)"},
    )
    people = ma.fields.List(
        _UncheckedMember(MemberSchema, allow_none=True),
        required=True,
        validate=ma.validate.Length(1, MAX_COHORT),
        metadata={"description": f"1 to {MAX_COHORT} people, each named once"},
    )


class CohortItemSchema(Schema):
    index = ma.fields.Integer(required=True, metadata={"description": "position in `people`"})
    ref = ma.fields.String(allow_none=True, metadata={"description": "the `ref` sent, if any"})
    person_id = ma.fields.String(allow_none=True)
    compliance = ma.fields.Nested(
        ComplianceSchema,
        allow_none=True,
        metadata={
            "description": "what `POST /v1/compliance` answers for this person; null on error"
        },
    )
    error = ma.fields.Nested(
        ProblemSchema,
        allow_none=True,
        metadata={
            "description": "why this person was not evaluated (validation, unknown-person,"
            " duplicate-person); null when evaluated"
        },
    )


class CohortCountsSchema(Schema):
    compliant = ma.fields.Integer(required=True)
    not_compliant = ma.fields.Integer(required=True)
    errors = ma.fields.Integer(required=True)


class CohortSchema(Schema):
    profile = ma.fields.Nested(EvaluatedProfileSchema, required=True)
    as_of = ma.fields.Date(required=True)
    counts = ma.fields.Nested(CohortCountsSchema, required=True)
    results = ma.fields.List(
        ma.fields.Nested(CohortItemSchema),
        required=True,
        metadata={"description": "one per person sent, in the same order"},
    )


def problem_of(error: LedgerError) -> dict[str, Any]:
    """A per-person error as problem details (the fields of an error response)."""
    status = ledger_status(error)
    problem: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{error.code}",
        "title": http.HTTPStatus(status).phrase,
        "status": status,
        "detail": str(error),
    }
    if isinstance(error, ValidationError):
        problem["detail"] = "This person is not valid: see errors for each field."
        problem["errors"] = error.errors
    return problem


def _item(result: CohortResult) -> dict[str, Any]:
    return {
        "index": result.index,
        "ref": result.ref,
        "person_id": result.person_id,
        "compliance": result.evaluation,
        "error": None if result.error is None else problem_of(result.error),
    }


@blp.route("/v1/compliance/batch", methods=["POST"])
@require_role("filing")  # before the body is read: a stranger learns nothing of the schema
@blp.arguments(CohortRequestSchema())
@blp.response(200, CohortSchema)
@blp.alt_response(404, response="NOT_FOUND")
@replica_reads
def check_cohort(args: dict[str, Any]) -> dict[str, Any]:
    """Evaluate a rule profile for many people at once

    Up to 1,000 people, each by `person_id` or `id_number`, with an optional `ref` of yours.
    One result per person, in order: `compliance`, the same answer `POST /v1/compliance` gives
    for that person (without the entry list unless `include_entries`), or `error` (an invalid
    ID number, an unknown person, the same person again) without sinking the others. 404 for
    an unknown profile; 422 for more than 1,000 people.
    """
    profile = installed_profiles().get(args["profile"])
    as_of = resolve_frame(profile, args.get("as_of")).as_of
    results = evaluate_cohort(
        read_session(),
        profile,
        args["people"],
        as_of,
        explain=args["include_entries"],
        industry_platform=args.get("industry_platform"),
    )
    evaluated = [r.evaluation for r in results if r.evaluation is not None]
    compliant = sum(1 for e in evaluated if e.compliant)
    return {
        "profile": {
            "profile_id": profile.id,
            "profile_version": profile.version,
            "profile_digest": profile.digest,
        },
        "as_of": as_of,
        "counts": {
            "compliant": compliant,
            "not_compliant": len(evaluated) - compliant,
            "errors": len(results) - len(evaluated),
        },
        "results": [_item(r) for r in results],
    }
