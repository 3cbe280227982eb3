"""The canonical encoding behind content digests and the hash chain."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.canonical import canonical_bytes
from ledger.entries import HASH_VERSION, entry_hash


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
