"""Status list bits as the IETF draft defines them: its own examples, placement, decoding."""

from __future__ import annotations

import base64
import zlib

import pytest

from ledger.attestations.status_bits import (
    CAPACITY,
    StatusType,
    decode,
    encode,
    pack,
    position_range,
    slot_of,
    status_at,
)

# draft-ietf-oauth-status-list, "Status List": 16 one-bit statuses are the bytes 0xB9 0xA3.
ONE_BIT = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
# Its 2-bit example: 12 statuses are the bytes 0xC9 0x44 0xF9.
TWO_BITS = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]


def test_the_drafts_two_bit_example_packs_to_its_bytes() -> None:
    assert pack(enumerate(TWO_BITS), size=12) == bytes([0xC9, 0x44, 0xF9])


def test_the_drafts_one_bit_example_reads_back_from_its_bytes() -> None:
    raw = bytes([0xB9, 0xA3])
    assert [status_at(raw, i, 1) for i in range(16)] == ONE_BIT


def test_encoding_is_zlib_at_the_highest_level_in_base64url_without_padding() -> None:
    lst = encode(bytes([0xB9, 0xA3]))
    assert lst == "eNrbuRgAAhcBXQ"  # the draft's example
    assert "=" not in lst
    compressed = base64.urlsafe_b64decode(lst + "==")
    assert compressed[:2] == b"\x78\xda"  # ZLIB header, best compression (RFC 1950)
    assert zlib.decompress(compressed) == bytes([0xB9, 0xA3])


def test_every_status_reads_back_where_it_was_packed() -> None:
    given = {5: StatusType.INVALID, 6: StatusType.STALE, 1000: StatusType.SUSPENDED}
    raw = decode(encode(pack(given.items(), size=2048)))
    assert len(raw) == 512
    for idx in range(2048):
        assert status_at(raw, idx) == given.get(idx, StatusType.VALID)


def test_a_full_list_of_valid_tokens_is_tiny() -> None:
    assert len(encode(pack([]))) < 1500


def test_positions_fill_one_list_then_the_next_at_scattered_indices() -> None:
    assert slot_of(0).list_id == 1
    assert slot_of(CAPACITY - 1).list_id == 1
    assert slot_of(CAPACITY).list_id == 2
    assert position_range(2) == (CAPACITY, 2 * CAPACITY - 1)
    first = [slot_of(p).idx for p in range(8)]
    assert first != sorted(first)
    assert abs(first[1] - first[0]) > 1000  # neighbours in time are not neighbours in the list


def test_the_scatter_is_a_bijection_on_a_list() -> None:
    indices = {slot_of(p).idx for p in range(CAPACITY)}
    assert len(indices) == CAPACITY
    assert min(indices) == 0
    assert max(indices) == CAPACITY - 1


@pytest.mark.parametrize("lst", ["!!!", "eNrbuRgAAhcB", base64.urlsafe_b64encode(b"nope").decode()])
def test_decoding_refuses_what_is_not_a_zlib_list(lst: str) -> None:
    with pytest.raises(ValueError, match="status list"):
        decode(lst)


def test_decoding_refuses_a_list_that_inflates_beyond_what_a_verifier_accepts() -> None:
    bomb = encode(bytes(1 << 25))
    with pytest.raises(ValueError, match="larger"):
        decode(bomb)


def test_reading_outside_the_list_or_with_odd_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        status_at(bytes(2), 8)
    with pytest.raises(ValueError, match="bits"):
        status_at(bytes(2), 0, 3)
    with pytest.raises(ValueError, match="does not fit"):
        pack([(4, 1)], size=4)
    with pytest.raises(ValueError, match="does not fit"):
        pack([(0, 4)], size=4)
