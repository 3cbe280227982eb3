"""Request bodies are parsed with exact decimals; NaN and deep nesting are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.resources.base import loads


def test_numbers_are_read_as_decimals_not_floats() -> None:
    assert loads(b'{"hours": 1.5, "n": 2}') == {"hours": Decimal("1.5"), "n": 2}


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a": NaN}'])
def test_non_finite_constants_are_not_json(text: str) -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        loads(text)


def test_absurd_nesting_is_a_value_error_not_a_crash() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        loads("[" * 200_000 + "]" * 200_000)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(ValueError, match="not UTF-8"):
        loads(b'{"a": "\xff"}')
