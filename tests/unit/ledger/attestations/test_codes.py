"""Verification codes: what is typed from paper is read back, and typing errors are caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.attestations.codes import (
    ALPHABET,
    DATA_LENGTH,
    LENGTH,
    CodeError,
    check_symbol,
    format_code,
    is_valid,
    new_code,
    normalise_code,
)

data = st.text(alphabet=ALPHABET, min_size=DATA_LENGTH, max_size=DATA_LENGTH)
codes = data.map(lambda d: d + check_symbol(d))


def test_the_alphabet_has_32_symbols_and_no_letter_that_reads_as_a_digit() -> None:
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_a_new_code_is_12_symbols_of_the_alphabet_with_a_good_check_symbol() -> None:
    for _ in range(200):
        code = new_code()
        assert len(code) == LENGTH == 12
        assert set(code) <= set(ALPHABET)
        assert is_valid(code)
    assert len({new_code() for _ in range(200)}) == 200


@given(codes)
def test_a_code_reads_back_as_printed_in_any_case_with_hyphens_or_spaces(code: str) -> None:
    printed = format_code(code)
    assert printed.count("-") == 2
    assert len(printed) == 14
    assert normalise_code(printed) == code
    assert normalise_code(printed.lower()) == code
    assert normalise_code(" ".join(printed.split("-"))) == code
    assert normalise_code(f"  {code[:5]} {code[5:]}  ") == code


@given(codes)
def test_letters_that_look_like_digits_are_read_as_those_digits(code: str) -> None:
    typed = code.replace("1", "l").replace("0", "O")
    assert normalise_code(typed) == code
    assert normalise_code(code.replace("1", "I")) == code


@given(codes, st.integers(0, LENGTH - 1), st.sampled_from(ALPHABET))
def test_any_single_wrong_symbol_is_caught(code: str, place: int, symbol: str) -> None:
    typed = code[:place] + symbol + code[place + 1 :]
    if typed == code:
        return
    assert not is_valid(typed)
    with pytest.raises(CodeError, match="核验码有误"):
        normalise_code(typed)


@given(codes, st.integers(0, LENGTH - 2))
def test_any_swap_of_two_adjacent_different_symbols_is_caught(code: str, place: int) -> None:
    a, b = code[place], code[place + 1]
    if a == b:
        return
    typed = code[:place] + b + a + code[place + 2 :]
    assert not is_valid(typed)
    with pytest.raises(CodeError):
        normalise_code(typed)


def test_every_single_error_and_adjacent_swap_of_one_code_is_caught_exhaustively() -> None:
    code = "7K3MQ9TD2XW"
    code += check_symbol(code)
    assert is_valid(code)
    for place in range(LENGTH):
        for symbol in ALPHABET:
            if symbol != code[place]:
                assert not is_valid(code[:place] + symbol + code[place + 1 :])
        if place < LENGTH - 1 and code[place] != code[place + 1]:
            assert not is_valid(code[:place] + code[place + 1] + code[place] + code[place + 2 :])


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ABCD-EFGH", "应为 12 位"),
        ("ABCD-EFGH-JKMN-P", "应为 12 位"),
        ("ABCD-EFGH-JKU#", "无效字符"),
        ("", "应为 12 位"),
    ],
)
def test_what_cannot_be_a_code_is_refused_with_a_reason(typed: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        normalise_code(typed)
