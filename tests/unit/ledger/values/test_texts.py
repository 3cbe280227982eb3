"""Free texts: the one reason rule (reversals, revocations, key retirements) and record texts."""

from __future__ import annotations

import pytest

from ledger.values.texts import (
    MAX_REASON,
    NOT_UNICODE,
    find_unfit_texts,
    parse_reason,
    parse_text,
    printable,
    storable,
    unicode_problem,
)


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


@pytest.mark.parametrize("value", ["a\ud800b", "\udfff", "名\udc80字"])
def test_a_record_text_holding_a_lone_surrogate_is_refused_as_not_unicode(value: str) -> None:
    # JSON can carry "\ud800" as an escape; no UTF-8 encoder, database or digest can take it.
    with pytest.raises(ValueError, match=r"^must be valid Unicode text"):
        parse_text(value, limit=100)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("why\ud800", "must be valid Unicode text"),
        ("nul\x00here", "must not contain control characters other than tabs and line breaks"),
        ("bell\x07", "must not contain control characters other than tabs and line breaks"),
    ],
)
def test_a_reason_must_be_text_a_database_can_keep(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^{message}"):
        parse_reason(value)
    assert parse_reason("tab\tand\r\nlines") == "tab\tand\r\nlines"


def test_unicode_problem_names_surrogates_and_nul_and_nothing_else() -> None:
    assert unicode_problem("张三 \t\n ok") is None
    assert unicode_problem("\ud800") == NOT_UNICODE
    assert unicode_problem("a\x00") == "must not contain NUL characters"


def test_printable_and_storable_texts_encode_as_utf8() -> None:
    for text in ("\ud800x", "名\udfff", "a\x00b\ud800"):
        printable(text).encode("utf-8")
        stored = storable(text)
        stored.encode("utf-8")
        assert "\x00" not in stored
    assert printable("plain 文字") == "plain 文字" == storable("plain 文字")
    assert printable("a\ud800") == "a\\ud800"
    assert storable("a\x00") == "a\\x00"


def test_unfit_texts_are_found_anywhere_in_a_json_value_keys_included() -> None:
    found = dict(
        find_unfit_texts(
            {"a": ["ok", "\ud800"], "b\udc00": 1, "c": {"d": "x\x00"}, "e": 3, "f": None}
        )
    )
    assert found == {
        "a.1": NOT_UNICODE,
        "b\\udc00": "the field's name is not valid Unicode text: it holds a lone surrogate",
        "c.d": "must not contain NUL characters",
    }
