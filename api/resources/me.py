"""The individual's own data: ``/v1/me/transcript``, ``/v1/me/compliance``, ``/v1/me/attestations``.

The caller is the person named by their identity token (``Authorization: Bearer <identity
JWT>``) or their signed-in browser session (see :mod:`api.identity`). Whatever ``person_id`` or
``id_number`` a request carries, an individual only ever reaches their own data: naming anyone
else is refused with 403 before anything about that person is read.
"""

from __future__ import annotations

from typing import Any

from api import issuance
from api.auth import bearer_key, current_client, document_bearer
from api.errors import Problem
from api.identity import current_individual, own_person_id, require_individual
from api.reads import read_session, replica_reads
from api.resources import attestations as attestation_api
from api.resources.base import Blueprint
from api.resources.compliance import ComplianceRequestSchema, ComplianceSchema
from api.resources.transcripts import PRIVATE, TranscriptSchema
from ledger.attestations.issuance import Issued
from ledger.compliance.catalogue import catalogue
from ledger.compliance.evaluation import evaluate
from ledger.compliance.results import Evaluation
from ledger.compliance.transcripts import Transcript, build_transcript

blp = Blueprint(
    "me",
    __name__,
    description="An individual's own transcript, compliance and attestations (identity token"
    " or signed-in browser).",
)


class MyComplianceSchema(ComplianceRequestSchema):
    """As ``POST /v1/compliance``, but the person is the caller: ``person_id`` and
    ``id_number`` are optional and, when given, must be the caller's own."""

    def one_person(self, data: dict[str, Any], **_: Any) -> None:
        """Not needed: the caller is the person."""


class MyIssueSchema(attestation_api.IssueSchema):
    """As ``POST /v1/attestations``; the person is the caller (``person_id``/``id_number``
    optional and must be their own). Filing and admin keys may still name anyone."""

    def one_person(self, data: dict[str, Any], **_: Any) -> None:
        """Checked in the view: who must be named depends on the caller."""


def _not_held() -> Problem:
    return Problem(404, "No hours are held for you yet.", code="unknown-person")


def _my_person_id(args: dict[str, Any]) -> str:
    person_id = own_person_id(args)
    if person_id is None:
        raise _not_held()
    return person_id


@blp.route("/v1/me/transcript")
@blp.response(200, TranscriptSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_individual
@replica_reads
def my_transcript() -> tuple[Transcript, dict[str, str]]:
    """My transcript (individuals)

    Every entry held for the signed-in person with its source, course, date, hours and status,
    and counted hours per year and category. 404 while no hours are held for them.
    """
    person = current_individual()
    assert person is not None
    if person.person_id is None:
        raise _not_held()
    return build_transcript(read_session(), person.person_id), PRIVATE


@blp.route("/v1/me/compliance", methods=["POST"])
@blp.arguments(MyComplianceSchema)
@blp.response(200, ComplianceSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_individual
@replica_reads
def my_compliance(args: dict[str, Any]) -> tuple[Evaluation, dict[str, str]]:
    """Check my hours against a profile (individuals)

    As `POST /v1/compliance`, for the signed-in person: each rule passed or failed, with the
    shortfall in hours.
    """
    person_id = _my_person_id(args)
    profile = catalogue().get(args["profile"])
    result = evaluate(
        read_session(),
        person_id,
        profile,
        args.get("as_of"),
        industry_platform=args.get("industry_platform"),
        explain=args["include_entries"],
    )
    return result, PRIVATE


@blp.route("/v1/me/attestations", methods=["POST"])
@blp.arguments(MyIssueSchema())
@blp.response(201, attestation_api.IssuedSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@document_bearer
def issue_mine(args: dict[str, Any]) -> Issued:
    """Obtain my attestation (individuals)

    Signs the result of the profile for the signed-in person (identity token or browser
    session). Filing and admin keys may call it too, naming the person as in
    `POST /v1/attestations`.
    """
    person = current_individual()
    if person is None:
        key = bearer_key()
        if key is None:
            raise Problem(
                401,
                "Sign in: send Authorization: Bearer <identity token>, or use a signed-in"
                " browser session.",
                code="unauthenticated",
            )
        client = current_client()
        if client.role not in ("filing", "admin"):
            raise Problem(403, f"A {client.role} key may not do this.", code="forbidden")
        if ("id_number" in args) == ("person_id" in args):
            raise Problem(
                422,
                "The request is not valid: see errors for each field.",
                code="validation",
                errors={"_schema": ["give exactly one of id_number or person_id"]},
            )
        return issuance.issue_for_client(args)
    return issuance.issue_for_person(
        _my_person_id(args), args["profile"], args.get("as_of"), args.get("application_ref")
    )
