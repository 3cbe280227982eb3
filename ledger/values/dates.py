"""Dates and the business time zone: a record's year is decided in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


# No ledger holds hours from before 1990: the earliest completion, as-of date and profile year.
EARLIEST_YEAR = 1990


# The latest year a profile may name (its application year, its window's years).
LATEST_YEAR = 2100


EARLIEST_COMPLETION = dt.date(EARLIEST_YEAR, 1, 1)


# The one written form of a date: ``date.fromisoformat`` also takes ``20240501``, week dates
# (``2024-W18-3``) and other scripts' digits, none of which is the contract's ``YYYY-MM-DD``.
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _date_text(value: object) -> dt.date | None:
    if not isinstance(value, str) or not DATE_TEXT.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


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
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    day = _date_text(value)
    if day is None:
        raise ValueError("must be a date YYYY-MM-DD")
    return day


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
    """Parse a completion date: the text ``YYYY-MM-DD``, a date, or a datetime (converted to
    Asia/Shanghai; a naive one is taken as Asia/Shanghai time). Other texts, ISO datetimes
    among them, are import and sync's to map first (``importers.mapping``).

    Dates in the future or before 1990 are refused.

    Raises:
        ValueError: with a human-readable reason.
    """
    today = today or today_in_business_tz()
    if isinstance(value, dt.datetime):
        moment = value
        day = (moment if moment.tzinfo is None else moment.astimezone(BUSINESS_TZ)).date()
    elif isinstance(value, dt.date):
        day = value
    else:
        parsed = _date_text(value)
        if parsed is None:
            raise ValueError("completed_on must be a date YYYY-MM-DD")
        day = parsed
    if day > today:
        raise ValueError("completed_on is in the future")
    if day < EARLIEST_COMPLETION:
        raise ValueError("completed_on is before 1990-01-01")
    return day
