"""The canonical encoding behind content digests and the hash chain."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_bytes


def test_keys_are_sorted_and_absent_fields_left_out() -> None:
    assert canonical_bytes({"b": 1, "a": None, "c": {"z": "中", "y": None}}) == (
        '{"b":1,"c":{"z":"中"}}'.encode()
    )


def test_decimals_are_strings_and_floats_have_no_encoding() -> None:
    assert canonical_bytes({"h": Decimal("1.5")}) == b'{"h":"1.5"}'
    with pytest.raises(TypeError, match="floats"):
        canonical_bytes({"h": 1.5})


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
