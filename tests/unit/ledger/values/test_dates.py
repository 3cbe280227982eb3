"""Dates: completion dates and as-of dates, decided in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.values.dates import (
    parse_as_of,
    parse_completed_on,
    parse_date,
    today_in_business_tz,
)

TODAY = dt.date(2026, 11, 21)


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


def test_completion_year_is_decided_in_asia_shanghai() -> None:
    # 2020-12-31 17:30 UTC is 2021-01-01 01:30 in Beijing: a 2021 completion.
    late = dt.datetime(2020, 12, 31, 17, 30, tzinfo=dt.UTC)
    assert parse_completed_on(late, today=TODAY) == dt.date(2021, 1, 1)
    earlier = dt.datetime(2020, 12, 31, 15, 30, tzinfo=dt.UTC)
    assert parse_completed_on(earlier, today=TODAY) == dt.date(2020, 12, 31)
    assert parse_completed_on(dt.datetime(2020, 12, 31, 23, 59), today=TODAY) == dt.date(
        2020, 12, 31
    )


@pytest.mark.parametrize(
    "text",
    [
        "2020-12-31T17:30:00Z",  # a time: import and sync map it to its day (importers.mapping)
        "20201231",  # date.fromisoformat takes the basic format
        "2020-W53-4",  # and week dates
        "２０２０-１２-３１",  # full-width digits
        "2020-12-31 ",
        "2020-1-31",
    ],
)
def test_a_date_on_the_api_is_yyyy_mm_dd_and_nothing_else(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_completed_on(text, today=TODAY)
    with pytest.raises(ValueError, match=r"^must be a date YYYY-MM-DD$"):
        parse_date(text)


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
