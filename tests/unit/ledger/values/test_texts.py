"""Free texts: the one reason rule (reversals, revocations, key retirements) and record texts."""

from __future__ import annotations

import pytest

from ledger.values.texts import MAX_REASON, parse_reason, parse_text


def test_a_reason_is_kept_without_surrounding_spaces() -> None:
    # R11 (seeds 000, 001, 003, 004): falsified material is found later and its use undone;
    # the reason is what the audit trail keeps of why.
    reason = "弄虚作假: the certificate was forged"
    assert parse_reason(f"  {reason}\n") == reason


def test_a_reason_may_run_over_several_lines() -> None:
    assert parse_reason("first line\nsecond line") == "first line\nsecond line"


@pytest.mark.parametrize("value", ["", "   ", "\n\t", None, 12, ["why"]])
def test_a_missing_or_blank_reason_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"^a reason is required$"):
        parse_reason(value)


def test_a_reason_of_the_limit_is_taken_and_one_more_character_is_refused() -> None:
    assert MAX_REASON == 2000
    assert parse_reason("x" * MAX_REASON) == "x" * MAX_REASON
    with pytest.raises(ValueError, match=r"^must be at most 2000 characters$"):
        parse_reason("x" * (MAX_REASON + 1))


def test_the_reason_limit_counts_the_text_as_given() -> None:
    # The API's schemas count the characters sent, surrounding spaces included; so does this.
    with pytest.raises(ValueError, match="at most 2000"):
        parse_reason(" " + "x" * MAX_REASON)


def test_record_texts_are_stripped_and_limited() -> None:
    assert parse_text("  衢州市建设学院 ", limit=200) == "衢州市建设学院"
    assert parse_text(" " + "x" * 5 + " ", limit=5) == "xxxxx"
    with pytest.raises(ValueError, match=r"^must be at most 5 characters$"):
        parse_text("x" * 6, limit=5)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12, "must be a string"),
        (None, "must be a string"),
        ("  ", "must not be empty"),
        ("line\nbreak", "must not contain control characters"),
        ("tab\there", "must not contain control characters"),
        ("del\x7f", "must not contain control characters"),
    ],
)
def test_bad_record_texts_are_refused_with_a_reason(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^{message}$"):
        parse_text(value, limit=100)
