"""Resident ID numbers (GB 11643): validation, the check character, masking."""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


_CHECK_CHARS = "10X98765432"


_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]", re.ASCII)


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


def normalise_id_number(text: str) -> str:
    """An ID number's one written form: no surrounding spaces, a final ``X`` in upper case.

    It does not validate: a number to compare with one already held (an attestation's ID
    binding) is only normalised, so that a wrong number simply does not match.
    """
    return text.strip().upper()


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
    return _validate_text(normalise_id_number(value))


def mask_id_number(id_number: str) -> str:
    """Mask an ID number for display: the first six and last four characters only.

    >>> mask_id_number("33080219900101123X")
    '330802********123X'
    """
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def make_id_number(region: str, born: dt.date, sequence: int) -> str:
    """Build a valid ID number (for tests, demos and benchmarks)."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_character(first17)


# Anything that may be a resident ID number, valid or not (a record is often quarantined
# precisely because its ID number is wrong, and it must still be masked): 17 digits and an X,
# any run of 15 digits or more (an old 15-digit number, an 18-digit one, or one inside a longer
# run, which is still there to read), or such a shape partly masked already. Digits of any
# script count (``\d``): full-width digits spell the same number.
_ID_LIKE = re.compile(r"\d{17}[Xx]|\d{15,}|\d{6}[0-9*]{6,8}[0-9*]{3}[0-9Xx*]")


def mask_text(text: str) -> str:
    """Mask everything in ``text`` that may be a resident ID number: quarantined payloads for
    display, and every log line (``api.logs``)."""
    return _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)
