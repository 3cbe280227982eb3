"""Dates and the business time zone: a record's year is decided in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


# No ledger holds hours from before 1990: the earliest completion, as-of date and profile year.
EARLIEST_YEAR = 1990


# The latest year a profile may name (its application year, its window's years).
LATEST_YEAR = 2100


EARLIEST_COMPLETION = dt.date(EARLIEST_YEAR, 1, 1)


def today_in_business_tz(now: dt.datetime | None = None) -> dt.date:
    """Return today's date in Asia/Shanghai (the year of a record is decided there)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(BUSINESS_TZ).date()


def parse_date(value: object) -> dt.date:
    """Parse a calendar date such as an as-of date: a date, or its ISO 8601 text (YYYY-MM-DD).

    Unlike a completion date it may lie in the future (a notice's cut-off often does).

    Raises:
        ValueError: it is neither.
    """
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


def parse_as_of(value: object) -> dt.date:
    """Parse the date an evaluation is made as of: a date from 1990 on (it may lie ahead).

    Raises:
        ValueError: not a date, or before 1990.
    """
    day = parse_date(value)
    if day.year < EARLIEST_YEAR:
        raise ValueError(f"must be a date from {EARLIEST_YEAR} on")
    return day


def parse_completed_on(value: object, *, today: dt.date | None = None) -> dt.date:
    """Parse a completion date (``YYYY-MM-DD`` or an ISO datetime, converted to Asia/Shanghai).

    A naive datetime is taken as Asia/Shanghai time. Dates in the future or before 1990 are refused.

    Raises:
        ValueError: with a human-readable reason.
    """
    today = today or today_in_business_tz()
    if isinstance(value, dt.datetime):
        moment = value
        day = (moment if moment.tzinfo is None else moment.astimezone(BUSINESS_TZ)).date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and 0 < len(value.strip()) <= 40:
        text = value.strip()
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
            else:
                moment = dt.datetime.fromisoformat(text)
                day = (moment if moment.tzinfo is None else moment.astimezone(BUSINESS_TZ)).date()
        except ValueError:
            raise ValueError("completed_on must be a date YYYY-MM-DD") from None
    else:
        raise ValueError("completed_on must be a date YYYY-MM-DD")
    if day > today:
        raise ValueError("completed_on is in the future")
    if day < EARLIEST_COMPLETION:
        raise ValueError("completed_on is before 1990-01-01")
    return day
