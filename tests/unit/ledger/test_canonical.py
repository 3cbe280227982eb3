"""The canonical encoding behind content digests and the hash chain."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_bytes
from ledger.entries.chain import HASH_VERSION, entry_hash


def test_keys_are_sorted_and_absent_fields_left_out() -> None:
    assert canonical_bytes({"b": 1, "a": None, "c": {"z": "中", "y": None}}) == (
        '{"b":1,"c":{"z":"中"}}'.encode()
    )


def test_decimals_are_strings_and_floats_have_no_encoding() -> None:
    assert canonical_bytes({"h": Decimal("1.5")}) == b'{"h":"1.5"}'
    with pytest.raises(TypeError, match="floats"):
        canonical_bytes({"h": 1.5})


def test_entry_hash_is_versioned_and_covers_every_field() -> None:
    fields = {
        "person_id": "p_1",
        "seq": 1,
        "kind": "credit",
        "hours": Decimal("2.0"),
        "recorded_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    }
    base = entry_hash(fields)
    assert HASH_VERSION == 1
    assert entry_hash(fields | {"hours": Decimal("2.5")}) != base
    assert entry_hash(fields | {"prev_hash": "00"}) != base
    # The same instant in another zone is the same timestamp.
    shanghai = dt.timezone(dt.timedelta(hours=8))
    moved = fields | {"recorded_at": dt.datetime(2024, 1, 1, 8, tzinfo=shanghai)}
    assert entry_hash(moved) == base


def test_the_append_path_hasher_equals_the_generic_one() -> None:
    from ledger.entries.chain import NewEntry, chain_hash, format_timestamp

    moment = dt.datetime(2024, 5, 1, 3, 4, 5, 678901, tzinfo=dt.UTC)
    row = {
        "person_id": "p_1",
        "seq": 3,
        "kind": "reversal",
        "source_id": "s",
        "external_id": "外部-1",
        "record_version": 2,
        "category": "specialised",
        "hours": Decimal("-2.5"),
        "completed_on": dt.date(2024, 4, 30),
        "year": 2024,
        "course_title": "课程\n名",
        "content_digest": "ab" * 32,
        "reverses_id": 17,
        "reason": "wrong",
        "actor": "ops",
        "recorded_at": moment,
        "prev_hash": "cd" * 32,
    }
    absent = {"course_code": None, "course_provider": None}
    entry = NewEntry(**absent, **row)  # type: ignore[arg-type]
    assert chain_hash(entry, format_timestamp(moment)) == entry_hash(row)
    entry.prev_hash = None
    assert chain_hash(entry, format_timestamp(moment)) == entry_hash(row | {"prev_hash": None})


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300)
@given(st.dictionaries(st.text(), _JSON_VALUES, max_size=6))
def test_the_encoding_is_the_standard_librarys_byte_for_byte(document: dict[str, Any]) -> None:
    """Hashes written before the switch to orjson must still verify: the bytes are the same,
    including escapes of control characters, non-ASCII text, key order and integers of any size."""
    from ledger.canonical import encode_normalised

    expected = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert encode_normalised(document) == expected.encode("utf-8")
