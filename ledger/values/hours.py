"""Hours: exact decimals with one place, how they are parsed and written."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MAX_HOURS_PER_RECORD = Decimal("200")


ONE_PLACE = Decimal("0.1")


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


def format_hours(hours: Decimal) -> str:
    """Format hours for output: always one decimal place, as a string (never a float)."""
    return str(hours.quantize(ONE_PLACE))
