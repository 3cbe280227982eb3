"""Pieces of the REST adapter that need no network: Retry-After and JSON paths."""

from __future__ import annotations

import datetime as dt

from importers.rest import json_path, retry_after_seconds


def test_retry_after_in_seconds() -> None:
    assert retry_after_seconds("7") == 7.0


def test_retry_after_as_an_http_date() -> None:
    now = dt.datetime(2024, 12, 31, 23, 59, 0, tzinfo=dt.UTC)

    assert retry_after_seconds("Tue, 31 Dec 2024 23:59:30 GMT", now) == 30.0


def test_a_retry_after_in_the_past_or_unreadable_means_no_wait_given() -> None:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

    assert retry_after_seconds("Tue, 31 Dec 2024 23:59:30 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_json_paths_reach_into_nested_answers() -> None:
    document = {"data": {"list": [1], "next": "abc"}}

    assert json_path(document, "data.list") == [1]
    assert json_path(document, "data.missing") is None
    assert json_path(document, "data.list.deeper") is None
