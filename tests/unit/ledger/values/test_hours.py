"""Hours: exact decimals with one place, for records and for rules."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ledger.values.hours import format_hours, parse_hours, parse_rule_hours


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1.5", "1.5"), (12, "12.0"), ("200", "200.0"), (Decimal("0.1"), "0.1"), ("3.0", "3.0")],
)
def test_hours_accept_decimal_strings_and_integers(raw: object, expected: str) -> None:
    assert format_hours(parse_hours(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (1.5, "not a binary float"),
        (True, "not a binary float"),
        ("-1", "greater than 0"),
        ("0", "greater than 0"),
        ("1.25", "at most one decimal place"),
        ("200.1", "at most 200"),
        ("abc", "decimal number"),
        ("", "decimal number"),
        ("NaN", "decimal number"),
        ("1e400", "decimal number"),
        (None, "decimal number"),
        ([1], "decimal number"),
    ],
)
def test_bad_hours_are_refused_with_a_reason(raw: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_hours(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "1_0",  # Decimal() takes Python's digit separators
        "1e1",
        "1E+1",
        "1.",
        ".5",
        "+1",
        " 3.0 ",  # import and sync strip spaces in their mapping step; the API does not
        "１２",  # full-width digits
        "١٢",  # Arabic-Indic digits
        "१२",  # Devanagari digits
        "Infinity",
        "0x10",
        Decimal("1E+1"),  # a JSON number with an exponent
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
    ],
)
def test_hours_are_ascii_digits_with_at_most_one_decimal_and_nothing_else(raw: object) -> None:
    with pytest.raises(ValueError, match="decimal number"):
        parse_hours(raw)
    with pytest.raises(ValueError, match="must be hours"):
        parse_rule_hours(raw)


@pytest.mark.parametrize("raw", ["2.50", Decimal("2.50"), "12.00"])
def test_hours_written_with_two_places_are_refused_even_when_they_equal_one(raw: object) -> None:
    with pytest.raises(ValueError, match="at most one decimal place"):
        parse_hours(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    # Seed 002_3f11e0b9a6581793.txt: 180 over two years, of which 120 specialised and 36 public;
    # seed 003_befbf03be78c027b.txt: 18 general public a year. A cap or a bonus figure may be 0.
    [(180, "180.0"), ("120", "120.0"), (Decimal("36"), "36.0"), ("18.5", "18.5"), (0, "0.0")],
)
def test_a_rules_hours_are_decimals_from_0_to_10000(raw: object, expected: str) -> None:
    assert format_hours(parse_rule_hours(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (True, 'must be hours such as 90 or "18.5"'),
        (90.0, 'must be hours such as 90 or "18.5"'),
        ("ninety", 'must be hours such as 90 or "18.5"'),
        ("NaN", 'must be hours such as 90 or "18.5"'),
        (None, 'must be hours such as 90 or "18.5"'),
        (-1, "must be between 0 and 10000"),
        ("10000.1", "must be between 0 and 10000"),
        ("18.55", "may have at most one decimal place"),
    ],
)
def test_bad_rule_hours_are_refused_with_the_profiles_message(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        parse_rule_hours(raw)
    assert str(caught.value) == message


def test_a_record_and_a_rule_share_the_one_place_decimal_but_not_the_range() -> None:
    # The same exact-decimal reading for both; a record registers more than 0 and at most 200.
    assert parse_rule_hours("2.5") == parse_hours("2.5") == Decimal("2.5")
    assert parse_rule_hours("0") == 0
    assert parse_rule_hours("1000") == Decimal("1000")
    with pytest.raises(ValueError, match="greater than 0"):
        parse_hours("0")
    with pytest.raises(ValueError, match="at most 200"):
        parse_hours("1000")
