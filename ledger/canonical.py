"""Versioned canonical encoding of records and entries, and the hashes over it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

CANONICAL_VERSION = 1
_SORTED = orjson.OPT_SORT_KEYS


def _normalise(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise TypeError("floats have no canonical encoding; use Decimal")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {str(k): _normalise(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in out.items() if v is not None and v != {}}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if hasattr(value, "value"):  # enums
        return _normalise(value.value)
    raise TypeError(f"no canonical encoding for {type(value).__name__}")


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """Encode a document canonically: sorted keys, no floats, absent (None) fields left out.

    Raises:
        TypeError: when a value (such as a float) has no canonical encoding.
    """
    return encode_normalised(_normalise(document))


def encode_normalised(document: Any) -> bytes:
    """Encode a document of JSON types only (see ``_normalise``): sorted keys, no whitespace,
    UTF-8 (no ASCII escapes), byte for byte what
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes (a property
    test holds the two together). orjson, because every append encodes twice."""
    try:
        return orjson.dumps(document, option=_SORTED)
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits, which orjson refuses; the standard library does not.
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")


def sha256_hex(document: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex digest of the canonical encoding of ``document``."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def sha256_hex_flat(document: dict[str, str | int | None]) -> str:
    """The same digest as :func:`sha256_hex` for a flat document of strings, integers and
    ``None`` (the hot path: every appended entry is hashed this way)."""
    clean = {k: v for k, v in document.items() if v is not None}
    return hashlib.sha256(encode_normalised(clean)).hexdigest()
