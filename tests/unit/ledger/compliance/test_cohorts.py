"""A cohort member as a filing system sends it: named once, validly, with an optional ref."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.compliance.cohorts import Member, parse_member
from ledger.errors import ValidationError
from tests.factories import id_number


def test_a_member_by_id_number_is_validated_and_normalised() -> None:
    number = id_number(3)
    lowered = number[:-1] + number[-1].lower()
    assert parse_member({"id_number": lowered, "ref": " ZC-1 "}) == Member(None, number, "ZC-1")


def test_a_member_by_person_id() -> None:
    assert parse_member({"person_id": "p_1"}) == Member("p_1", None, None)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "_schema"),
        ({"person_id": "p_1", "id_number": id_number(1)}, "_schema"),
        ({"id_number": "330802199001011231"}, "id_number"),
        ({"id_number": 330802}, "id_number"),
        ({"person_id": ""}, "person_id"),
        ({"person_id": "p" * 33}, "person_id"),
        ({"person_id": "p_1", "ref": "x" * 129}, "ref"),
        ({"person_id": "p_1", "ref": 7}, "ref"),
        ({"person_id": "p_1", "name": "张三"}, "name"),
        ("p_1", "_schema"),
        (None, "_schema"),
    ],
)
def test_a_malformed_member_is_refused_with_the_field_named(raw: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_member(raw)
    assert field in caught.value.errors


def test_an_invalid_id_number_is_never_repeated_in_the_error() -> None:
    bad = "330802199001011231"
    with pytest.raises(ValidationError) as caught:
        parse_member({"id_number": bad})
    assert bad not in str(caught.value)
