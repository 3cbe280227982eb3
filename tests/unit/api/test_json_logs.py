"""JSON log lines: one object a line, with the request id and no ID number."""

from __future__ import annotations

import json
import logging

from api.app import JsonFormatter
from tests.factories import id_number


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("api.app", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_log_line_is_one_json_object_with_time_level_logger_and_request_id() -> None:
    line = JsonFormatter().format(_record("POST %s %s", "/v1/records", 200, request_id="abc123"))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "POST /v1/records 200"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "api.app"
    assert entry["request_id"] == "abc123"
    assert entry["time"].endswith("Z")


def test_request_fields_are_kept_as_json_fields() -> None:
    record = _record("x", route="/v1/records", status=201, duration_ms=3.5, method="POST")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["route"] == "/v1/records"
    assert entry["status"] == 201
    assert entry["duration_ms"] == 3.5


def test_an_id_number_in_a_message_or_traceback_is_masked() -> None:
    number = id_number(3)
    try:
        raise ValueError(f"bad person {number}")
    except ValueError:
        record = _record("lookup of %s failed", number)
        record.exc_info = __import__("sys").exc_info()
    line = JsonFormatter().format(record)
    assert number not in line
    entry = json.loads(line)
    assert number[:6] + "********" in entry["message"]
    assert "ValueError" in entry["exception"]
