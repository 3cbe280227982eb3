"""Logs never carry an ID number or an API key."""

from __future__ import annotations

from api.app import redact
from ledger.access.clients import new_key
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
