"""Resident ID numbers (GB 11643): validation, masking and the opaque person id."""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
import secrets

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[1-9]\d{16}[\dX]")


def check_character(first17: str) -> str:
    """Return the GB 11643 mod 11-2 check character for the first 17 digits."""
    if len(first17) != 17:
        raise ValueError("the check character covers exactly 17 digits")
    return _CHECK_CHARS[sum(map(operator.mul, map(int, first17), _WEIGHTS)) % 11]


@functools.lru_cache(maxsize=65536)
def _validate_text(text: str) -> str:
    if len(text) != 18 or not _SHAPE.fullmatch(text):
        raise ValueError("id_number must be 18 characters: 17 digits and a digit or X")
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError("id_number has an invalid birth date") from None
    if born.year < 1900 or born > dt.date.today():
        raise ValueError("id_number has an invalid birth date")
    if check_character(text[:17]) != text[17]:
        raise ValueError("id_number check character is wrong")
    return text


def validate_id_number(value: object) -> str:
    """Validate and normalise an 18-character resident ID number.

    The message never repeats the number, so it is safe to log or return.

    Raises:
        ValueError: when the shape, the birth date or the check character is wrong.
    """
    if not isinstance(value, str):
        raise ValueError("id_number must be a string of 18 characters")
    if len(value) > 40:
        raise ValueError("id_number must be 18 characters: 17 digits and a digit or X")
    # Memoised: a batch carries the same person's number many times. Failures are not cached.
    return _validate_text(value.strip().upper())


def mask_id_number(id_number: str) -> str:
    """Mask an ID number for display: the first six and last four characters only.

    >>> mask_id_number("33080219900101123X")
    '330802********123X'
    """
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def new_person_ids(count: int) -> list[str]:
    """``count`` new opaque person ids (random, 96 bits each; they carry nothing about the
    person), from one read of the system's random source: a batch can bring hundreds."""
    pool = secrets.token_bytes(12 * count)
    return ["p_" + pool[i : i + 12].hex() for i in range(0, 12 * count, 12)]


def make_id_number(region: str, born: dt.date, sequence: int) -> str:
    """Build a valid ID number (for tests, demos and benchmarks)."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_character(first17)
