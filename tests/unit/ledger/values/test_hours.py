"""Hours: exact decimals with one place, for records and for rules."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ledger.values.hours import format_hours, parse_hours, parse_rule_hours


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1.5", "1.5"), (12, "12.0"), ("200", "200.0"), (Decimal("0.1"), "0.1"), (" 3.0 ", "3.0")],
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
        ("NaN", "finite"),
        ("1e400", "at most 200"),
        (None, "decimal number"),
        ([1], "decimal number"),
    ],
)
def test_bad_hours_are_refused_with_a_reason(raw: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_hours(raw)


def test_hours_with_trailing_zero_places_are_one_place() -> None:
    assert parse_hours("2.50") == Decimal("2.5")


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
    assert parse_rule_hours("2.50") == parse_hours("2.50") == Decimal("2.5")
    assert parse_rule_hours("0") == 0
    assert parse_rule_hours(" 1_000 ") == Decimal("1000")
    with pytest.raises(ValueError, match="greater than 0"):
        parse_hours("0")
    with pytest.raises(ValueError, match="at most 200"):
        parse_hours("1000")
