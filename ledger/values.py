"""Domain values: hours, categories, completion dates and the business time zone."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
MAX_HOURS_PER_RECORD = Decimal("200")
EARLIEST_COMPLETION = dt.date(1990, 1, 1)
ONE_PLACE = Decimal("0.1")


class Category(enum.StrEnum):
    """The three hour categories (科目)."""

    SPECIALISED = "specialised"  # 专业科目
    INDUSTRY_PUBLIC = "industry_public"  # 行业公需科目
    GENERAL_PUBLIC = "general_public"  # 一般公需科目


CATEGORY_LABELS_ZH = {
    Category.SPECIALISED: "专业科目",
    Category.INDUSTRY_PUBLIC: "行业公需科目",
    Category.GENERAL_PUBLIC: "一般公需科目",
}


def today_in_business_tz(now: dt.datetime | None = None) -> dt.date:
    """Return today's date in Asia/Shanghai (the year of a record is decided there)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(BUSINESS_TZ).date()


def parse_hours(value: object) -> Decimal:
    """Parse hours: a decimal > 0, at most one decimal place, at most 200.

    Binary floats are refused so that no rounding can ever creep in.

    Raises:
        ValueError: with a human-readable reason.
    """
    if isinstance(value, bool | float):
        raise ValueError("hours must be a decimal string or an integer, not a binary float")
    if isinstance(value, int):
        hours = Decimal(value)
    elif isinstance(value, Decimal):
        hours = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 12:
            raise ValueError('hours must be a decimal number such as "1.5"')
        try:
            hours = Decimal(text)
        except InvalidOperation:
            raise ValueError('hours must be a decimal number such as "1.5"') from None
    else:
        raise ValueError('hours must be a decimal number such as "1.5"')
    if not hours.is_finite():
        raise ValueError("hours must be a finite number")
    if hours <= 0:
        raise ValueError("hours must be greater than 0")
    if hours > MAX_HOURS_PER_RECORD:
        raise ValueError(f"hours must be at most {MAX_HOURS_PER_RECORD} per record")
    one_place = hours.quantize(ONE_PLACE)
    if one_place != hours:
        raise ValueError("hours may have at most one decimal place")
    return one_place


def parse_category(value: object) -> Category:
    """Parse a category key.

    Raises:
        ValueError: naming the allowed values.
    """
    try:
        return Category(str(value)) if isinstance(value, str) else Category("")
    except ValueError:
        allowed = ", ".join(c.value for c in Category)
        raise ValueError(f"category must be one of {allowed}") from None


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


def format_hours(hours: Decimal) -> str:
    """Format hours for output: always one decimal place, as a string (never a float)."""
    return str(hours.quantize(ONE_PLACE))
