"""Domain values: hours as one-place decimals, categories, completion dates in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from ledger.values.categories import Category, parse_category
from ledger.values.dates import (
    parse_as_of,
    parse_completed_on,
    parse_date,
    today_in_business_tz,
)
from ledger.values.hours import format_hours, parse_hours, parse_rule_hours

TODAY = dt.date(2026, 11, 21)


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


def test_an_as_of_date_is_a_date_or_its_iso_text() -> None:
    # Seed 001: materials are counted up to 2024-07-31 (a cut-off named by the notice).
    assert parse_date("2024-07-31") == dt.date(2024, 7, 31)
    assert parse_date(dt.date(2024, 7, 31)) == dt.date(2024, 7, 31)
    assert parse_date("2099-12-31") == dt.date(2099, 12, 31)  # unlike a completion, may be ahead
    for bad in ("2024-02-30", "31/07/2024", None):
        with pytest.raises(ValueError, match=r"^must be a date YYYY-MM-DD$"):
            parse_date(bad)


def test_an_evaluation_is_as_of_a_date_from_1990_on() -> None:
    # RULES.md R10 (seeds 001, 003): a check is always as of a date; no ledger holds hours from
    # before 1990, the earliest completion date taken.
    assert parse_as_of("1990-01-01") == dt.date(1990, 1, 1)
    assert parse_as_of(dt.date(2024, 7, 31)) == dt.date(2024, 7, 31)
    with pytest.raises(ValueError, match=r"^must be a date from 1990 on$"):
        parse_as_of("1989-12-31")
    with pytest.raises(ValueError, match=r"^must be a date YYYY-MM-DD$"):
        parse_as_of("soon")


def test_categories_are_the_three_keys() -> None:
    assert parse_category("general_public") is Category.GENERAL_PUBLIC
    with pytest.raises(ValueError, match="one of specialised"):
        parse_category("专业科目")


def test_completion_year_is_decided_in_asia_shanghai() -> None:
    # 2020-12-31 17:30 UTC is 2021-01-01 01:30 in Beijing: a 2021 completion.
    assert parse_completed_on("2020-12-31T17:30:00Z", today=TODAY) == dt.date(2021, 1, 1)
    assert parse_completed_on("2020-12-31T15:30:00+00:00", today=TODAY) == dt.date(2020, 12, 31)
    assert parse_completed_on("2020-12-31T23:59:00", today=TODAY) == dt.date(2020, 12, 31)


def test_future_and_pre_1990_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="future"):
        parse_completed_on("2026-11-22", today=TODAY)
    with pytest.raises(ValueError, match="before 1990"):
        parse_completed_on("1989-12-31", today=TODAY)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_completed_on("2024-02-30", today=TODAY)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_completed_on(20240101, today=TODAY)


def test_today_is_shanghai_today() -> None:
    late_utc = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)
    assert today_in_business_tz(late_utc) == dt.date(2027, 1, 1)
