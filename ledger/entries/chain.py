"""Entry kinds and the per-person hash chain over a versioned canonical encoding."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.canonical import encode_normalised, sha256_hex_flat

HASH_VERSION = 1


_ONE_PLACE = Decimal("0.1")


class EntryKind(enum.StrEnum):
    """A credit adds hours; a reversal cancels one earlier credit.

    A supersede is a reversal of the old credit plus a new credit whose ``supersedes_id``
    names the old one, appended together.
    """

    CREDIT = "credit"
    REVERSAL = "reversal"


HASHED_FIELDS = (
    "person_id",
    "seq",
    "kind",
    "source_id",
    "external_id",
    "record_version",
    "category",
    "hours",
    "completed_on",
    "year",
    "course_code",
    "course_title",
    "course_provider",
    "content_digest",
    "reverses_id",
    "supersedes_id",
    "reason",
    "actor",
    "recorded_at",
    "prev_hash",
)


def format_timestamp(moment: dt.datetime) -> str:
    """UTC, microseconds, ``Z``: the one textual form of a timestamp inside a hash."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True)
class NewEntry:
    """An entry about to be appended: what it records, then (set by its place in the chain,
    see :class:`ledger.entries.storage.Pending`) its person, sequence number, the hash before it,
    its time and its own hash, and once written its id. Not frozen: its chain fields are filled
    in once, and making a frozen dataclass costs every appended entry several microseconds."""

    kind: EntryKind
    source_id: str
    external_id: str
    record_version: int
    category: str
    hours: Decimal
    completed_on: dt.date
    year: int
    course_code: str | None
    course_title: str | None
    course_provider: str | None
    content_digest: str
    actor: str
    reverses_id: int | None = None
    supersedes_id: int | None = None
    reason: str | None = None
    person_id: str = ""
    seq: int = 0
    prev_hash: str | None = None
    recorded_at: dt.datetime | None = None
    hash: str = ""
    id: int = 0


def chain_hash(entry: NewEntry, recorded_at_text: str) -> str:
    """:func:`entry_hash` for an entry the ledger is about to append, whose value types are
    known (hours ``Decimal`` with one place, ``completed_on`` a date) and whose timestamp was
    already formatted once for the whole batch. Equal to ``entry_hash`` (a unit test holds them
    together).
    """
    document = {
        name: value for name in HASHED_FIELDS if (value := getattr(entry, name)) is not None
    }
    document["v"] = HASH_VERSION
    document["hours"] = str(entry.hours)
    document["completed_on"] = entry.completed_on.isoformat()
    document["recorded_at"] = recorded_at_text
    return hashlib.sha256(encode_normalised(document)).hexdigest()


def entry_hash(fields: dict[str, Any]) -> str:
    """Hash an entry's fields (see ``HASHED_FIELDS``) with encoding version ``HASH_VERSION``.

    Absent (``None``) fields are left out, hours are decimal strings, timestamps UTC text.
    """
    document: dict[str, str | int | None] = {"v": HASH_VERSION}
    for name in HASHED_FIELDS:
        value = fields.get(name)
        if isinstance(value, dt.datetime):
            value = format_timestamp(value)
        elif isinstance(value, Decimal):
            value = str(value.quantize(_ONE_PLACE))
        elif isinstance(value, dt.date):
            value = value.isoformat()
        document[name] = value
    return sha256_hex_flat(document)
