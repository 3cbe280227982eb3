"""IETF Token Status List bits (draft-ietf-oauth-status-list): values, places, encoding.

Every attestation has 2 bits in one list. The values are the draft's Status Types:

| value | Status Type | our status |
|---|---|---|
| ``0x00`` | VALID | ``valid`` |
| ``0x01`` | INVALID (revoked, irreversible) | ``revoked`` |
| ``0x02`` | SUSPENDED | not used |
| ``0x03`` | application-specific | ``stale``: an entry it counted was reversed or superseded |

A list holds :data:`CAPACITY` (2**20) attestations, so that each token hides in a large herd (the
draft's herd privacy). Positions are handed out in order; list ``position // CAPACITY + 1``
holds a position, at an index scattered over the whole list (a multiplication by an odd
constant modulo the capacity, a bijection), so that neighbouring issuances do not get
neighbouring indices (the draft recommends non-sequential indices). The list is a byte array,
each status from the least significant bit up, compressed with DEFLATE in the ZLIB format at
the highest level and base64url-encoded without padding (the ``lst`` member).
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable
from typing import NamedTuple

from ledger.attestations.jose import b64url, b64url_decode

BITS = 2
CAPACITY = 1 << 20
_SCATTER = 0x9E3779B1  # odd: multiplication modulo a power of two is then a bijection
_PER_BYTE = 8 // BITS
MAX_DECODED_BYTES = 1 << 24  # a verifier refuses a list that inflates to more than 16 MiB


class StatusType(enum.IntEnum):
    """A token's status value in the list (the draft's Status Types; 0x03 is ours)."""

    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02
    STALE = 0x03


class Slot(NamedTuple):
    """Where an attestation's bits are: which list, which index in it."""

    list_id: int
    idx: int


def slot_of(position: int) -> Slot:
    """The list and index of a position (``attestations.status_position``).

    Raises:
        ValueError: a negative position.
    """
    if position < 0:
        raise ValueError("a status position is never negative")
    offset = position % CAPACITY
    return Slot(position // CAPACITY + 1, (offset * _SCATTER) % CAPACITY)


def position_range(list_id: int) -> tuple[int, int]:
    """The first and last position list ``list_id`` holds."""
    first = (list_id - 1) * CAPACITY
    return first, first + CAPACITY - 1


def pack(statuses: Iterable[tuple[int, int]], size: int = CAPACITY) -> bytes:
    """The byte array of ``size`` statuses, all VALID but those given as ``(idx, value)``.

    Raises:
        ValueError: an index outside the list, or a value that does not fit in :data:`BITS`.
    """
    raw = bytearray((size * BITS + 7) // 8)
    for idx, value in statuses:
        if not 0 <= idx < size or not 0 <= value < (1 << BITS):
            raise ValueError(f"status {value} at index {idx} does not fit a list of {size}")
        byte, slot = divmod(idx, _PER_BYTE)
        shift = slot * BITS
        raw[byte] = (raw[byte] & ~(((1 << BITS) - 1) << shift)) | (value << shift)
    return bytes(raw)


def encode(raw: bytes) -> str:
    """The ``lst`` of a byte array: ZLIB (RFC 1950) at level 9, then base64url."""
    return b64url(zlib.compress(raw, 9))


def decode(lst: str) -> bytes:
    """The byte array of an ``lst`` (a verifier's side).

    Raises:
        ValueError: not base64url, not ZLIB, or larger than :data:`MAX_DECODED_BYTES`.
    """
    try:
        compressed = b64url_decode(lst)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except (ValueError, zlib.error) as exc:
        raise ValueError("the status list is not base64url-encoded ZLIB data") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("the status list is truncated or larger than a verifier accepts")
    return raw


def status_at(raw: bytes, idx: int, bits: int = BITS) -> int:
    """The status value at ``idx`` of a byte array of ``bits``-bit statuses.

    Raises:
        ValueError: ``bits`` is not 1, 2, 4 or 8, or ``idx`` is outside the list.
    """
    if bits not in (1, 2, 4, 8):
        raise ValueError("bits must be 1, 2, 4 or 8")
    byte, slot = divmod(idx, 8 // bits)
    if idx < 0 or byte >= len(raw):
        raise ValueError(f"index {idx} is outside the status list")
    return (raw[byte] >> (slot * bits)) & ((1 << bits) - 1)
