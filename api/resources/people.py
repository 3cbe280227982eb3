"""People, addressed by an opaque ``person_id``: ``POST /v1/people/lookup``.

An ID number travels only in a request body, never in a URL, so it stays out of access logs.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from api.auth import require_role
from api.fields import IdNumber
from api.reads import read_session, replica_reads
from api.resources.base import Blueprint
from api.schema import Schema
from ledger.entries.people import find_person_id
from ledger.values.id_numbers import mask_id_number

blp = Blueprint(
    "people",
    __name__,
    description="People known to the ledger (filing and admin keys).",
)


class LookupSchema(ma.Schema):
    id_number = IdNumber(required=True)


class PersonRefSchema(Schema):
    person_id = ma.fields.String(
        required=True, metadata={"description": "opaque id used in every other URL"}
    )
    id_number_masked = ma.fields.String(required=True, metadata={"example": "110105********002X"})


@blp.route("/v1/people/lookup", methods=["POST"])
@require_role("filing")
@blp.arguments(LookupSchema)
@blp.response(200, PersonRefSchema)
@blp.alt_response(404, response="NOT_FOUND")
@replica_reads
def lookup(body: dict[str, Any]) -> dict[str, Any]:
    """Find a person by ID number

    Returns the opaque `person_id` for an ID number sent in the body. 422 if the number is not
    valid (shape, birth date or check character), 404 if nobody with it has hours here.
    """
    number = body["id_number"]  # checked and in its one written form (api.fields.IdNumber)
    return {
        "person_id": find_person_id(read_session(), number),
        "id_number_masked": mask_id_number(number),
    }
