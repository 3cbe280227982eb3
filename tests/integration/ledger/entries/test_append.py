"""Appending records: idempotency, conflicts, supersedes, reversals, balances."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.entries.append import MAX_BATCH, append_records
from ledger.entries.audit import verify_ledger
from ledger.entries.people import find_person_id, get_person_totals
from ledger.entries.reversal import reverse_entry, reverse_record
from ledger.entries.tables import Entry, Person
from ledger.errors import (
    ReversalError,
    UnknownEntryError,
    UnknownRecordError,
    UnknownSourceError,
    ValidationError,
)
from tests.factories import city_source, id_number, record


def entry_count(session: Session) -> int:
    with session.begin():
        return session.scalar(sa.select(sa.func.count()).select_from(Entry)) or 0


def statuses(results: list) -> list[str]:
    return [r.status for r in results]


def test_new_records_are_created_with_entries_and_balances(session: Session) -> None:
    src = city_source(session)
    results = append_records(
        session,
        src,
        [record("r1", hours="1.5"), record("r2", category="general_public", hours="3")],
        actor="t",
    )
    assert statuses(results) == ["created", "created"]
    assert all(r.entry_id for r in results)
    totals = get_person_totals(session, results[0].person_id)
    assert totals == {2024: {"specialised": Decimal("1.5"), "general_public": Decimal("3.0")}}


def test_same_record_again_is_a_duplicate_and_appends_nothing(session: Session) -> None:
    src = city_source(session)
    first = append_records(session, src, [record("r1")], actor="t")
    again = append_records(session, src, [record("r1")], actor="t")
    assert statuses(again) == ["duplicate"]
    assert again[0].entry_id == first[0].entry_id
    assert entry_count(session) == 1


def test_same_external_id_with_new_hours_is_a_conflict(session: Session) -> None:
    src = city_source(session)
    append_records(session, src, [record("r1", hours="10")], actor="t")
    results = append_records(session, src, [record("r1", hours="12")], actor="t")
    assert statuses(results) == ["conflict"]
    assert "external_id" in results[0].errors
    assert entry_count(session) == 1


def test_supersede_appends_a_linked_reversal_and_credit(session: Session) -> None:
    src = city_source(session)
    (old,) = append_records(session, src, [record("r1", hours="10")], actor="t")
    (new,) = append_records(session, src, [record("r1", hours="12")], actor="t", supersede=True)
    assert new.status == "superseded"
    with session.begin():
        entries = session.scalars(sa.select(Entry).order_by(Entry.id)).all()
    assert [(e.kind, e.hours) for e in entries] == [
        ("credit", Decimal("10.0")),
        ("reversal", Decimal("-10.0")),
        ("credit", Decimal("12.0")),
    ]
    assert entries[1].reverses_id == old.entry_id
    assert entries[2].supersedes_id == old.entry_id
    assert get_person_totals(session, new.person_id) == {2024: {"specialised": Decimal("12.0")}}
    # The superseding content is now the record: sending it again is a duplicate.
    again = append_records(session, src, [record("r1", hours="12")], actor="t", supersede=True)
    assert statuses(again) == ["duplicate"]


def test_a_record_may_ask_for_supersede_itself(session: Session) -> None:
    src = city_source(session)
    append_records(session, src, [record("r1", hours="10")], actor="t")
    results = append_records(session, src, [record("r1", hours="8", supersede=True)], actor="t")
    assert statuses(results) == ["superseded"]


def test_invalid_records_are_rejected_and_valid_ones_kept(session: Session) -> None:
    src = city_source(session)
    results = append_records(
        session,
        src,
        [record("ok1"), record("bad", hours="-1"), {"nonsense": True}, record("ok2")],
        actor="t",
    )
    assert statuses(results) == ["created", "rejected", "rejected", "created"]
    assert results[1].errors == {"hours": ["hours must be greater than 0"]}
    assert entry_count(session) == 2


def test_duplicates_inside_one_batch_are_reported_not_appended_twice(session: Session) -> None:
    src = city_source(session)
    results = append_records(
        session, src, [record("r1"), record("r1"), record("r1", hours="2")], actor="t"
    )
    assert statuses(results) == ["created", "duplicate", "conflict"]
    assert entry_count(session) == 1


def test_reversal_cancels_a_credit_once(session: Session) -> None:
    src = city_source(session)
    (credit,) = append_records(session, src, [record("r1", hours="10")], actor="t")
    reversal = reverse_record(session, src, "r1", reason="falsified", actor="auditor")
    assert reversal.reversed_entry_id == credit.entry_id
    assert get_person_totals(session, credit.person_id) == {2024: {"specialised": Decimal("0.0")}}
    with session.begin():
        row = session.get(Entry, reversal.entry_id)
        assert row is not None
        assert (row.kind, row.reason, row.actor) == ("reversal", "falsified", "auditor")
    with pytest.raises(ReversalError, match="already reversed"):
        reverse_record(session, src, "r1", reason="again", actor="auditor")
    with pytest.raises(ReversalError, match="already reversed"):
        reverse_entry(session, credit.entry_id, reason="again", actor="auditor")


def test_a_reversal_of_a_reversal_is_refused(session: Session) -> None:
    src = city_source(session)
    append_records(session, src, [record("r1")], actor="t")
    reversal = reverse_record(session, src, "r1", reason="wrong", actor="a")
    with pytest.raises(ReversalError, match="cannot be reversed"):
        reverse_entry(session, reversal.entry_id, reason="undo", actor="a")


def test_unknown_entries_records_and_sources_are_refused_clearly(session: Session) -> None:
    src = city_source(session)
    with pytest.raises(UnknownEntryError):
        reverse_entry(session, 999, reason="x", actor="a")
    with pytest.raises(UnknownRecordError):
        reverse_record(session, src, "nope", reason="x", actor="a")
    with pytest.raises(UnknownSourceError):
        append_records(session, "nowhere", [record("r1")], actor="t")
    with pytest.raises(ValidationError, match="reason"):
        reverse_entry(session, 1, reason="  ", actor="a")


def test_a_batch_over_the_limit_is_refused_whole(session: Session) -> None:
    src = city_source(session)
    with pytest.raises(ValidationError, match="at most 1000"):
        append_records(session, src, [record(f"r{i}") for i in range(MAX_BATCH + 1)], actor="t")
    assert entry_count(session) == 0


def test_people_are_stored_once_and_found_by_id_number(session: Session) -> None:
    src = city_source(session)
    results = append_records(
        session, src, [record("r1", person=7), record("r2", person=7, name="张三丰")], actor="t"
    )
    assert results[0].person_id == results[1].person_id
    assert find_person_id(session, id_number(7)) == results[0].person_id
    with session.begin():
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def test_each_person_has_an_unbroken_hash_chain(session: Session) -> None:
    src = city_source(session)
    append_records(session, src, [record(f"a{i}", person=i % 3) for i in range(9)], actor="t")
    reverse_record(session, src, "a4", reason="x", actor="a")
    append_records(session, src, [record("a5", person=5 % 3, hours="1")], actor="t", supersede=True)
    with session.begin():
        rows = session.execute(
            sa.select(Entry.person_id, Entry.seq, Entry.prev_hash, Entry.hash).order_by(
                Entry.person_id, Entry.seq
            )
        ).all()
    previous: dict[str, str | None] = {}
    for person_id, seq, prev_hash, digest in rows:
        assert prev_hash == previous.get(person_id)
        assert seq == (1 if person_id not in previous else seq)
        previous[person_id] = digest
    assert verify_ledger(session).ok
