"""The check of answers against the OpenAPI document (``tests/conformance.py``) does catch drift."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conformance import as_json_schema, check_answer, operation_of

STATUS = {
    "jti": "j-1",
    "status": "valid",
    "reason": "issued",
    "reason_code": "issued",
    "changed_at": "2024-05-01T08:30:00+00:00",
}
RUN = {
    "id": 1,
    "source_id": "quzhou-city",
    "trigger": "manual",
    "status": "succeeded",
    "started_at": "2024-05-01T08:30:00+00:00",
    "finished_at": None,
    "pages": 1,
    "fetched": 2,
    "created": 2,
    "duplicates": 0,
    "superseded": 0,
    "rejected": 0,
    "error": None,
}


def answer(
    body: Any,
    *,
    method: str = "GET",
    url: str = "http://127.0.0.1/v1/attestations/j-1/status",
    status: int = 200,
    content_type: str = "application/json",
) -> None:
    check_answer(method, url, status, content_type, json.dumps(body).encode())


def test_an_answer_as_documented_passes() -> None:
    answer(STATUS)
    answer({"runs": [RUN]}, url="http://127.0.0.1/v1/sync/runs")


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({**STATUS, "status": "gone"}, "at status"),
        ({**STATUS, "changed_at": "1 May 2024"}, "date-time"),
        ({**STATUS, "changed_at": None}, "at changed_at"),
        ({**STATUS, "extra": 1}, "extra"),
        ({k: v for k, v in STATUS.items() if k != "jti"}, "jti"),
        ([STATUS], "(the body)"),
    ],
    ids=["not in the enum", "not a date-time", "null", "undocumented", "missing", "a list"],
)
def test_an_answer_unlike_its_schema_fails_naming_what_differs(body: Any, complaint: str) -> None:
    with pytest.raises(AssertionError, match="not as documented") as failure:
        answer(body)
    assert complaint in str(failure.value)


def test_null_passes_where_the_document_allows_it_and_fails_elsewhere() -> None:
    answer({"runs": [{**RUN, "error": None}]}, url="http://127.0.0.1/v1/sync/runs")
    with pytest.raises(AssertionError, match="at runs/0/pages"):
        answer({"runs": [{**RUN, "pages": None}]}, url="http://127.0.0.1/v1/sync/runs")


def test_an_undocumented_status_or_content_type_fails() -> None:
    with pytest.raises(AssertionError, match="status 201 is not documented"):
        answer(STATUS, status=201)
    with pytest.raises(AssertionError, match="application/jwk-set\\+json"):
        answer({"keys": []}, url="http://127.0.0.1/.well-known/jwks.json")


def test_errors_and_paths_outside_the_document_are_not_checked() -> None:
    answer({"anything": True}, status=404)
    answer("<html>", url="http://127.0.0.1/me", content_type="text/html")


def test_a_raw_path_finds_its_operation_literal_paths_first() -> None:
    assert operation_of("/v1/people/lookup") == "/v1/people/lookup"
    assert operation_of("/v1/people/p_1/transcript") == "/v1/people/{person_id}/transcript"
    assert operation_of("/v1/records/a%2Fb/reversal") == "/v1/records/{external_id}/reversal"
    assert operation_of("/v1/nothing") is None


def test_nullable_becomes_null_allowed() -> None:
    assert as_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert as_json_schema({"$ref": "#/x", "nullable": True}) == {
        "anyOf": [{"$ref": "#/x"}, {"type": "null"}]
    }
    assert as_json_schema({"enum": ["a"], "type": "string", "nullable": True}) == {
        "enum": ["a", None],
        "type": ["string", "null"],
    }
