"""Logs never carry an ID number or an API key, and no client can forge a line."""

from __future__ import annotations

import json
import logging
import sys

from api.logs import JsonFormatter, RedactingFormatter, redact
from ledger.access.clients import new_key
from ledger.values.id_numbers import mask_id_number
from tests.factories import id_number


def test_id_numbers_are_masked_in_log_lines() -> None:
    number = id_number(7)
    line = redact(f"lookup failed for {number} at step 2")
    assert number not in line
    assert number[:6] + "********" + number[-4:] in line


def test_api_keys_and_bearer_tokens_are_masked() -> None:
    key, prefix = new_key()
    line = redact(f"key {key} and header Authorization: Bearer {key}")
    assert key not in line
    assert prefix in line


def test_an_id_number_is_masked_wherever_it_sits_and_in_any_digits() -> None:
    number = id_number(9)
    fullwidth = number.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    for text in (
        f"/v1/people/{number}abc",
        f"/v1/people/9{number}",
        f"id={number.lower()}",
        f"/v1/people/{fullwidth}",
        f"old={number[:6]}{number[8:17]}",
    ):
        line = redact(text)
        assert number not in line, line
        assert fullwidth not in line, line
        assert "*****" in line, line


def test_control_characters_and_line_separators_are_escaped_in_text_lines() -> None:
    path = "/x\n2026 INFO forged\u2028\x85\ud800"
    record = logging.LogRecord("api.app", logging.INFO, __file__, 1, "GET %s", (path,), None)
    line = RedactingFormatter("%(levelname)s %(message)s").format(record)
    assert line.splitlines() == [line]
    assert "\\n2026 INFO forged\\u2028\\x85\\ud800" in line


def test_a_traceback_stays_below_its_line_indented_so_it_cannot_pose_as_a_record() -> None:
    try:
        raise ValueError("boom\n2026-01-01 INFO forged")
    except ValueError:
        record = logging.LogRecord("api", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    first, *rest = RedactingFormatter("%(message)s").format(record).split("\n")
    assert first == "failed"
    assert rest
    assert all(line.startswith("  ") for line in rest)
    assert any("forged" in line for line in rest)


def test_json_lines_are_ascii_one_a_line_with_every_field_redacted() -> None:
    number = id_number(11)
    record = logging.LogRecord(
        "gunicorn.error", logging.WARNING, __file__, 1, "%s\n\u2028 姓名", (number,), None
    )
    record.request_id = number
    line = JsonFormatter().format(record)
    assert line.isascii()
    assert "\n" not in line
    assert number not in line
    entry = json.loads(line)
    assert entry["message"].endswith("\n\u2028 姓名")
    assert entry["request_id"] == mask_id_number(number)
