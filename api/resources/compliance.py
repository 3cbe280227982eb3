"""Compliance over HTTP: ``POST /v1/compliance`` evaluates a person against a rule profile.

The ID number travels only in the body; the answer names the person by ``person_id``.

Each worker keeps the encoded answers of recent evaluations (``COMPLIANCE_CACHE_SIZE``, default
256; ``CEHOURS_COMPLIANCE_CACHE_SIZE=0`` turns it off), keyed by everything the answer depends
on: the person's chain head and entry count (any new entry of theirs moves the head), the
profile's digest, the resolved as-of date and the options. A cached answer is therefore always
the answer the ledger would give now; filing systems and attestations that ask again about the
same applicant get it without re-reading the entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import marshmallow as ma
from flask import Response, after_this_request, current_app

from api.auth import require_role
from api.fields import Hours, IdNumber, Inline, IsoDate, YearTotals
from api.reads import read_session, replica_reads
from api.resources.base import Blueprint
from api.resources.profiles import RuleLabelSchema, installed_profiles
from api.schema import Schema
from ledger.compliance.evaluation import evaluate, get_ledger_state
from ledger.compliance.facts import resolve_frame
from ledger.compliance.results import Evaluation
from ledger.entries.people import find_person_id

blp = Blueprint(
    "compliance",
    __name__,
    description="Whether a person meets a profile's CE requirements, and why (filing, admin).",
)

HOURS = {"description": "hours as a decimal string", "example": "18.5"}


class ComplianceRequestSchema(ma.Schema):
    id_number = IdNumber(instead="person_id")
    person_id = ma.fields.String(
        validate=ma.validate.Length(1, 32), metadata={"description": "opaque person id"}
    )
    profile = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 80),
        metadata={
            "description": "profile id, optionally `id@version`",
            "example": "quzhou-annual-90",
        },
    )
    as_of = IsoDate(
        metadata={"description": "evaluate as of this date (default: the profile's, else today)"}
    )
    industry_platform = ma.fields.Boolean(
        metadata={
            "description": "whether the person's industry is managed on the provincial industry"
            " platform (R6); default: as the profile decides"
        }
    )
    include_entries = ma.fields.Boolean(
        load_default=True,
        metadata={
            "description": "list every entry with its verdict (default true); false gives totals"
            " and rules only, computed from balances"
        },
    )

    @ma.validates_schema
    def one_person(self, data: dict[str, Any], **_: Any) -> None:
        if ("id_number" in data) == ("person_id" in data):
            raise ma.ValidationError("give exactly one of id_number or person_id", "_schema")


# The answer is dumped from the ledger's Evaluation; ``attribute`` names where each member is held.


class EvaluatedProfileSchema(Schema):
    id = ma.fields.String(required=True, attribute="profile_id")
    version = ma.fields.Integer(required=True, attribute="profile_version")
    digest = ma.fields.String(required=True, attribute="profile_digest")


class RuleCheckSchema(Schema):
    year = ma.fields.Integer(allow_none=True, metadata={"description": "null: the whole window"})
    required = Hours(allow_none=True, metadata=HOURS)
    actual = Hours(required=True, metadata=HOURS)
    shortfall = Hours(required=True, metadata=HOURS)
    passed = ma.fields.Boolean(allow_none=True)


class _RuleLabel(ma.fields.Nested):
    """The evaluated rule's label (``label_zh``, ``label_en``), documented as the profiles'
    ``RuleLabel``."""

    def get_value(
        self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing
    ) -> Any:
        return {"zh": obj.rule.label_zh, "en": obj.rule.label_en}


class RuleResultSchema(Schema):
    id = ma.fields.String(required=True, attribute="rule.id")
    kind = ma.fields.String(required=True, attribute="rule.kind")
    label = _RuleLabel(RuleLabelSchema)
    categories = ma.fields.List(ma.fields.String(), required=True, attribute="rule.categories")
    per = ma.fields.String(required=True, attribute="rule.per")
    required = Hours(allow_none=True, metadata={"description": "null for informational rules"})
    actual = Hours(
        required=True, metadata={"description": "per-year rules: the weakest year's figure"}
    )
    shortfall = Hours(
        required=True, metadata={"description": "per-year rules: the sum over the years"}
    )
    passed = ma.fields.Boolean(
        allow_none=True, metadata={"description": "null: informational, never fails"}
    )
    checks = ma.fields.List(ma.fields.Nested(RuleCheckSchema), required=True)


class SourcePolicyResultSchema(Schema):
    industry_platform = ma.fields.Boolean(required=True)
    industry_decided_by = ma.fields.String(
        required=True, metadata={"description": "request, has_entries, on_request or profile"}
    )
    hours_of_record = ma.fields.String(
        required=True, metadata={"description": "the kind of platform whose hours counted"}
    )


class EntryCourseSchema(Schema):
    code = ma.fields.String(allow_none=True, attribute="course_code")
    title = ma.fields.String(allow_none=True, attribute="course_title")


class EntryVerdictSchema(Schema):
    entry_id = ma.fields.Integer(required=True, attribute="entry.id")
    kind = ma.fields.String(
        required=True, attribute="entry.kind", metadata={"description": "credit or reversal"}
    )
    source_id = ma.fields.String(required=True, attribute="entry.source_id")
    source_kind = ma.fields.String(required=True, attribute="entry.source_kind")
    external_id = ma.fields.String(required=True, attribute="entry.external_id")
    category = ma.fields.String(required=True, attribute="entry.category")
    hours = Hours(required=True, attribute="entry.hours", metadata=HOURS)
    completed_on = ma.fields.Date(required=True, attribute="entry.completed_on")
    year = ma.fields.Integer(required=True, attribute="entry.year")
    course = ma.fields.Nested(EntryCourseSchema, attribute="entry")
    counted = ma.fields.Boolean(required=True)
    reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "why it did not count: reversed, superseded, reversal,"
            " outside_window, after_cutoff, duplicate (counted once: its twin counts),"
            " not_authoritative (not of record under R6)"
        },
    )
    detail = ma.fields.String(allow_none=True, metadata={"description": "the reason in words"})
    related_entry_id = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "the reversal, correction or counted twin it refers to"},
    )
    rules = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "ids of the profile's rules whose figures take the entry's category:"
            " those it counted toward or, when it did not count, the rules its exclusion"
            " affected (none for a reversal)"
        },
    )


class LedgerStateSchema(Schema):
    head_hash = ma.fields.String(allow_none=True)
    entry_count = ma.fields.Integer(required=True)


class ComplianceSchema(Schema):
    person_id = ma.fields.String(required=True)
    profile = Inline(EvaluatedProfileSchema, required=True)
    as_of = ma.fields.Date(required=True)
    application_year = ma.fields.Integer(required=True)
    window = ma.fields.List(ma.fields.Integer(), required=True)
    last_counted_day = ma.fields.Date(required=True)
    source_policy = Inline(SourcePolicyResultSchema, required=True)
    compliant = ma.fields.Boolean(required=True)
    rules = ma.fields.List(ma.fields.Nested(RuleResultSchema), required=True)
    totals = YearTotals(
        required=True, metadata={"description": "year -> category (and total) -> counted hours"}
    )
    window_totals = ma.fields.Dict(keys=ma.fields.String(), values=Hours(), required=True)
    capped = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(keys=ma.fields.String(), values=Hours()),
        metadata={"description": "year -> category -> hours a profile cap held back"},
    )
    ledger = Inline(LedgerStateSchema, required=True)
    counted_entry_ids = ma.fields.List(ma.fields.Integer(), required=True)
    entries = ma.fields.List(ma.fields.Nested(EntryVerdictSchema), required=True)
    basis = ma.fields.String(
        required=True, metadata={"description": "entries, or balances (include_entries false)"}
    )


class _AnswerCache:
    """A small LRU of encoded answers, safe across a worker's threads."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: tuple[Any, ...], body: bytes, size: int) -> None:
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > size:
                self._items.popitem(last=False)


_answers = _AnswerCache()


@blp.route("/v1/compliance", methods=["POST"])
# An instance, not the class: webargs would build a schema (deep-copying its fields) per request.
@blp.arguments(ComplianceRequestSchema())
@blp.response(200, ComplianceSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_role("filing")
@replica_reads
def check_compliance(args: dict[str, Any]) -> Evaluation | Response:
    """Evaluate a person against a rule profile

    Whether the person complies as of the date, each rule's required and actual hours and
    shortfall, the hours counted per year and category, and every entry of the window years
    (and the year either side) with whether it counted and why not. 404 for an unknown
    person or profile.
    """
    profile = installed_profiles().get(args["profile"])
    session = read_session()
    person_id = args.get("person_id") or find_person_id(session, args["id_number"])
    as_of = resolve_frame(profile, args.get("as_of")).as_of
    options = (profile.digest, as_of, args.get("industry_platform"), args["include_entries"])
    size = int(current_app.config.get("COMPLIANCE_CACHE_SIZE", 256))
    if size > 0:
        cached = _answers.get((person_id, get_ledger_state(session, person_id), *options))
        if cached is not None:
            # The body ComplianceSchema dumped for this same state before.
            return current_app.response_class(cached, mimetype="application/json")
    result = evaluate(
        session,
        person_id,
        profile,
        as_of,
        industry_platform=args.get("industry_platform"),
        explain=args["include_entries"],
    )
    if size > 0:
        # Keyed by the state the evaluation itself read, in its own transaction.
        key = (person_id, (result.head_hash, result.entry_count), *options)

        @after_this_request
        def keep(response: Response) -> Response:
            if response.status_code == 200:
                _answers.put(key, response.get_data(), size)
            return response

    return result
