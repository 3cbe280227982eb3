"""The hash chain: each entry's hash over a versioned canonical encoding."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger.entries.chain import HASH_VERSION, entry_hash


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
