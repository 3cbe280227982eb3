"""Shared set-up for attestation tests: a key-encryption key, and a stand-in evaluation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.attestations.tokens import Evaluated
from ledger.entries.tables import Entry, Person, Record

ISSUER = "https://cehours.test/"


def count_active_credits(
    session: Session, person_id: str, profile_id: str, as_of: dt.date | None
) -> Evaluated:
    """Counts every active credit: enough to exercise signing and staleness on their own."""
    rows = session.execute(
        select(Entry.id, Entry.year, Entry.category, Entry.hours)
        .join(Record, Record.entry_id == Entry.id)
        .where(Record.person_id == person_id, Record.status == "active")
    ).all()
    person = session.get(Person, person_id)
    assert person is not None
    totals: dict[str, dict[str, Decimal]] = {}
    for _, year, category, hours in rows:
        bucket = totals.setdefault(str(year), {})
        bucket[category] = bucket.get(category, Decimal("0.0")) + hours
    total = sum((h for *_, h in rows), Decimal("0.0"))
    return Evaluated(
        profile_id=profile_id,
        profile_version="1",
        profile_digest="0" * 64,
        as_of=as_of or dt.date(2025, 1, 1),
        window={"years": sorted(int(y) for y in totals)},
        totals=totals,
        rules=[{"id": "at-least-90", "required": "90", "actual": total, "passed": total >= 90}],
        compliant=total >= 90,
        counted_entry_ids=[r[0] for r in rows],
        head_hash=person.head_hash,
        entry_count=person.entry_count,
    )
