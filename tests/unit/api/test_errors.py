"""Problem details: how validation messages become field paths."""

from __future__ import annotations

from api.errors import flatten_messages


def test_body_messages_are_keyed_by_field_path_without_the_location() -> None:
    messages = {"json": {"records": {3: {"hours": ["bad"]}, "_schema": ["x"]}}}
    assert flatten_messages(messages) == {"records.3.hours": ["bad"], "records._schema": ["x"]}


def test_query_and_header_messages_keep_their_location() -> None:
    assert flatten_messages({"query": {"source": ["unknown"]}}) == {"query.source": ["unknown"]}


def test_bare_lists_of_messages_are_kept() -> None:
    assert flatten_messages({"json": ["Invalid JSON body."]}) == {"_body": ["Invalid JSON body."]}
