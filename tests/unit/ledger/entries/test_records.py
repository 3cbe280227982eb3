"""Parsing records as platforms send them: every bad field named, nothing crashes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.entries.records import parse_record
from ledger.errors import ValidationError
from tests.factories import record

TODAY = dt.date(2026, 11, 21)


def errors_of(raw: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        parse_record(raw, today=TODAY)
    return caught.value.errors


def test_a_valid_record_parses_to_domain_values() -> None:
    rec = parse_record(
        record("r1", hours="1.5", course={"code": "C1", "title": "安全"}), today=TODAY
    )
    assert (rec.external_id, str(rec.hours), rec.year, rec.course_title) == (
        "r1",
        "1.5",
        2024,
        "安全",
    )


def test_every_invalid_field_is_reported_at_once() -> None:
    bad = record("r1", hours="1.55", category="misc", completed_on="2030-01-01")
    bad["id_number"] = "110105194912310021"
    errs = errors_of(bad)
    assert set(errs) == {"hours", "category", "completed_on", "id_number"}
    assert "110105194912310021" not in str(errs)


@pytest.mark.parametrize("field", ["external_id", "name"])
def test_empty_strings_are_refused(field: str) -> None:
    assert errors_of(record("r1") | {field: "  "})[field] == ["must not be empty"]


def test_a_ten_megabyte_name_is_refused() -> None:
    assert errors_of(record("r1", name="张" * 10_000_000))["name"] == [
        "must be at most 100 characters"
    ]


@pytest.mark.parametrize(
    "garbage",
    [None, [], "text", 3, {"external_id": {"a": [1, {"b": None}]}}, {"records": [[[]]]}],
)
def test_nested_garbage_is_a_validation_error(garbage: object) -> None:
    assert errors_of(garbage)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("external_id", 12),
        ("id_number", 330802),
        ("name", ["a"]),
        ("category", 1),
        ("hours", {"v": 1}),
        ("completed_on", 20240101),
        ("course", "C1"),
    ],
)
def test_wrong_types_in_every_field_are_named(field: str, value: object) -> None:
    assert field in errors_of(record("r1") | {field: value})


def test_unknown_fields_and_course_fields_are_refused() -> None:
    errs = errors_of(record("r1", course={"cod": "x"}) | {"hourz": 1})
    assert set(errs) == {"hourz", "course.cod"}


def test_digest_depends_on_content_not_on_key_order() -> None:
    a = parse_record(record("r1"), today=TODAY)
    b = parse_record(dict(reversed(list(record("r1").items()))), today=TODAY)
    c = parse_record(record("r1", hours="10.5"), today=TODAY)
    assert a.digest() == b.digest() != c.digest()


def test_fast_digest_equals_the_canonical_encoding_of_the_content() -> None:
    from ledger.canonical import sha256_hex

    for raw in (record("r1"), record("r2", course={"title": "法规"}), record("r3", hours="0.5")):
        rec = parse_record(raw, today=TODAY)
        assert rec.digest() == sha256_hex(rec.content())


def _field_values() -> dict[str, st.SearchStrategy[object]]:
    """Values for each field, valid and subtly invalid, in the types JSON can carry."""
    texts = st.sampled_from(["", " ", "a", " a ", "x" * 128, "x" * 129, "y" * 101, "课程", "a\nb"])
    junk = st.none() | st.booleans() | st.integers(-3, 300) | st.lists(st.integers(), max_size=1)
    return {
        "external_id": texts | junk,
        "id_number": st.sampled_from(
            ["33080219880615123X", "330802198806151238", "330802198806151239", "3308021988"]
        )
        | junk,
        "name": texts | junk,
        "category": st.sampled_from(["specialised", "general_public", "Specialised", ""]) | junk,
        "hours": st.sampled_from(["1.5", "2", " 3.0 ", "0", "1.55", "201", "NaN", "-1", "1e1"])
        | st.sampled_from(["1.5", "2.00", "1.55", "-0", "NaN", "sNaN", "Infinity", "2E+1"]).map(
            Decimal
        )
        | junk,
        "completed_on": st.sampled_from(
            ["2024-03-01", "1989-12-31", "2030-01-01", "2024-02-30", "2024-03-01T10:00:00+00:00"]
        )
        | st.dates(dt.date(1985, 1, 1), dt.date(2030, 1, 1))
        | st.datetimes(dt.datetime(1985, 1, 1), dt.datetime(2030, 1, 1))
        | junk,
        "course": st.none()
        | st.dictionaries(st.sampled_from(["code", "title", "provider", "other"]), texts | junk)
        | junk,
        "supersede": st.booleans(),
        "extra": st.text(max_size=3),
    }


@settings(max_examples=500)
@given(st.fixed_dictionaries({}, optional=_field_values()))
def test_the_fast_path_accepts_exactly_what_the_full_validation_accepts(
    raw: dict[str, object],
) -> None:
    """``parse_record`` tries a quick path for well-formed records first. Whatever it accepts,
    the full validation accepts too, with the same values and digest. Whatever the full validation
    rejects, it declines."""
    from ledger.entries.records import _parse_checked, _parse_plain

    try:
        expected = _parse_checked(raw, today=TODAY)
    except ValidationError:
        expected = None
    fast = _parse_plain(raw, TODAY)
    if expected is None:
        assert fast is None
    elif fast is not None:
        assert fast == expected
        assert fast.digest() == expected.digest()


def test_the_fast_path_takes_the_common_record() -> None:
    from ledger.entries.records import _parse_plain

    raw = record("r1", hours="1.5", course={"code": "C1", "title": "安全", "provider": None})
    assert _parse_plain(raw, TODAY) == parse_record(raw, today=TODAY)
