"""Resident ID numbers: GB 11643 validation and masking."""

from __future__ import annotations

import pytest

from ledger.values.id_numbers import (
    check_character,
    mask_id_number,
    normalise_id_number,
    validate_id_number,
)

# A published example number of GB 11643's check-character algorithm.
EXAMPLE = "11010519491231002X"


def test_check_character_follows_gb_11643_mod_11_2() -> None:
    assert check_character(EXAMPLE[:17]) == "X"
    assert check_character("44052418800101001") == "4"  # the standard's other worked example


def test_valid_number_is_normalised_to_upper_case() -> None:
    assert validate_id_number(EXAMPLE.lower()) == EXAMPLE


def test_an_id_number_has_one_written_form_whether_or_not_it_is_valid() -> None:
    # Validation, the attestation's ID binding and the importers all write a number this way.
    assert normalise_id_number(f" {EXAMPLE.lower()}\t") == EXAMPLE
    assert normalise_id_number("12345x") == "12345X"
    assert validate_id_number(f" {EXAMPLE.lower()} ") == normalise_id_number(EXAMPLE)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "check character is wrong"),
        ("11010519491331002X", "invalid birth date"),
        ("11010518000101002X", "invalid birth date"),
        ("1101051949123100", "18 characters"),
        ("01010519491231002X", "18 characters"),
        ("1101051949123100AX", "18 characters"),
        ("", "18 characters"),
        (110105194912310021, "must be a string"),
    ],
)
def test_invalid_numbers_are_refused_without_repeating_them(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        validate_id_number(value)
    assert str(value) not in str(caught.value) or value == ""


def test_mask_keeps_region_and_last_four_only() -> None:
    assert mask_id_number("33080219900101123X") == "330802********123X"
    assert mask_id_number("short") == "*****"
