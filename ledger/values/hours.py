"""Hours: exact decimals with one place, how they are parsed and written.

Two quantities are hours: what a record registers (more than 0, at most 200) and what a
profile's rule or cap requires (0 to 10,000). Both are exact decimals with at most one place,
never binary floats; each has its own parser here, with its own range and messages.
"""

from __future__ import annotations

import re
from decimal import Decimal

MAX_HOURS_PER_RECORD = Decimal("200")


MAX_RULE_HOURS = Decimal("10000")


ONE_PLACE = Decimal("0.1")


_NOT_A_NUMBER = 'hours must be a decimal number such as "1.5"'


_NOT_RULE_HOURS = 'must be hours such as 90 or "18.5"'


# The one written form of hours: ASCII digits, optionally a point and decimals (the one-place
# rule is checked after, with its own message). Python's Decimal() and int() also take "1_0",
# exponents, spaces, signs and the digits of every script: none of those is hours.
HOURS_TEXT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,12})?", re.ASCII)


def _exact(value: object) -> Decimal | None:
    """The decimal an integer, a Decimal or a decimal text stands for; ``None`` for anything
    else, booleans and binary floats included.

    A text must be written as :data:`HOURS_TEXT`; a ``Decimal`` (a JSON number, a spreadsheet's
    cell) must print so, which refuses exponents (``1E+1``), NaN and infinities.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if HOURS_TEXT.fullmatch(str(value).lstrip("-")) else None
    if isinstance(value, str):
        return Decimal(value) if HOURS_TEXT.fullmatch(value) else None
    return None


def _one_place(hours: Decimal, message: str) -> Decimal:
    # As written: "2.50" has two places even though it equals 2.5.
    exponent = hours.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -1:
        raise ValueError(message)
    return hours.quantize(ONE_PLACE)


def parse_hours(value: object) -> Decimal:
    """Parse a record's hours: a decimal > 0, at most one decimal place, at most 200.

    Binary floats are refused so that no rounding can ever creep in; a text must be ASCII
    digits with at most one decimal (``"12"``, ``"1.5"``) and nothing else: no spaces, signs,
    exponents, ``_`` separators or other scripts' digits. Import and sync map other forms first
    (``importers.mapping``).

    Raises:
        ValueError: with a human-readable reason.
    """
    if isinstance(value, bool | float):
        raise ValueError("hours must be a decimal string or an integer, not a binary float")
    if isinstance(value, str) and value.startswith("-") and HOURS_TEXT.fullmatch(value[1:]):
        raise ValueError("hours must be greater than 0")
    hours = _exact(value)
    if hours is None:
        raise ValueError(_NOT_A_NUMBER)
    if hours <= 0:
        raise ValueError("hours must be greater than 0")
    if hours > MAX_HOURS_PER_RECORD:
        raise ValueError(f"hours must be at most {MAX_HOURS_PER_RECORD} per record")
    return _one_place(hours, "hours may have at most one decimal place")


def parse_rule_hours(value: object) -> Decimal:
    """Parse the hours a profile's rule requires or a cap allows: 0 to 10,000, one place.

    The messages leave the field's name out: a profile names the path (``rules[1].hours``).

    Raises:
        ValueError: with a human-readable reason.
    """
    if isinstance(value, str) and value.startswith("-") and HOURS_TEXT.fullmatch(value[1:]):
        raise ValueError(f"must be between 0 and {MAX_RULE_HOURS}")
    hours = _exact(value)
    if hours is None:
        raise ValueError(_NOT_RULE_HOURS)
    if hours < 0 or hours > MAX_RULE_HOURS:
        raise ValueError(f"must be between 0 and {MAX_RULE_HOURS}")
    return _one_place(hours, "may have at most one decimal place")


def format_hours(hours: Decimal) -> str:
    """Format hours for output: always one decimal place, as a string (never a float)."""
    return str(hours.quantize(ONE_PLACE))
