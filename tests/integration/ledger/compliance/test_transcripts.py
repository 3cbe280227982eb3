"""Transcripts: every entry with its status, and counted totals per year and category."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from ledger.compliance.transcripts import EntryStatus, build_transcript
from ledger.entries.append import append_records
from ledger.entries.people import find_person_id
from ledger.entries.reversal import reverse_record
from ledger.errors import UnknownPersonError
from tests.factories import city_source, id_number, province_source, record

COURSE = {"code": "ZY1907", "title": "BIM技术应用", "provider": "衢州市建设学院"}


@pytest.fixture
def person(session: Session) -> str:
    city = city_source(session)
    province = province_source(session)
    append_records(
        session,
        city,
        [
            record("c1", hours="24", completed_on="2019-09-20", course=COURSE),
            record("c2", category="general_public", hours="18", completed_on="2019-06-03"),
            record("c3", hours="30.5", completed_on="2020-05-15"),
            record("c4", category="industry_public", hours="6", completed_on="2020-12-18"),
            record("other", person=2, hours="99", completed_on="2020-01-01"),
        ],
        actor="test",
    )
    # The provincial platform re-registers c1 (same completion) and adds one of its own.
    append_records(
        session,
        province,
        [
            record("p1", hours="24", completed_on="2019-09-20", course=COURSE),
            record("p2", category="industry_public", hours="8", completed_on="2020-09-09"),
        ],
        actor="test",
    )
    corrected = record("c3", hours="20.5", completed_on="2020-05-15")
    append_records(session, city, [corrected], actor="test", supersede=True)
    reverse_record(session, city, "c4", reason="课程未完成考核", actor="test")
    return find_person_id(session, id_number(1))


def test_every_entry_is_listed_with_its_source_and_status(session: Session, person: str) -> None:
    transcript = build_transcript(session, person)
    by_record = {(e.external_id, e.kind): e for e in transcript.entries}
    assert by_record[("c1", "credit")].status == EntryStatus.COUNTED
    assert by_record[("c1", "credit")].source_name == "衢州市继续教育平台"
    assert by_record[("c1", "credit")].course_title == "BIM技术应用"
    twin = by_record[("p1", "credit")]
    assert twin.status == EntryStatus.DUPLICATE
    assert twin.related_entry_id == by_record[("c1", "credit")].entry_id
    assert twin.source_kind == "province_industry"
    assert by_record[("c4", "credit")].status == EntryStatus.REVERSED
    assert by_record[("c4", "reversal")].status == EntryStatus.REVERSAL
    assert by_record[("c4", "credit")].reason == "课程未完成考核"
    assert by_record[("c4", "reversal")].reason == "课程未完成考核"
    assert by_record[("c1", "credit")].reason is None
    statuses = [e.status for e in transcript.entries if e.external_id == "c3"]
    assert sorted(statuses) == sorted(
        [EntryStatus.SUPERSEDED, EntryStatus.REVERSAL, EntryStatus.COUNTED]
    )
    assert all(e.external_id != "other" for e in transcript.entries)


def test_totals_count_each_completion_once_and_skip_corrected_entries(
    session: Session, person: str
) -> None:
    transcript = build_transcript(session, person)
    assert transcript.years == [2019, 2020]
    assert transcript.totals[2019] == {
        "specialised": Decimal("24.0"),
        "industry_public": Decimal("0.0"),
        "general_public": Decimal("18.0"),
    }
    assert transcript.totals[2020]["specialised"] == Decimal("20.5")
    assert transcript.totals[2020]["industry_public"] == Decimal("8.0")
    assert transcript.year_total(2020) == Decimal("28.5")


def test_the_json_form_has_hours_as_strings_and_a_masked_id_number(
    session: Session, person: str
) -> None:
    body = build_transcript(session, person).to_dict()
    assert body["totals"]["2019"] == {
        "specialised": "24.0",
        "industry_public": "0.0",
        "general_public": "18.0",
        "total": "42.0",
    }
    assert body["id_number_masked"] == id_number(1)[:6] + "********" + id_number(1)[-4:]
    assert id_number(1) not in str(body)
    assert {e["status"] for e in body["entries"]} == {
        "counted",
        "duplicate",
        "superseded",
        "reversed",
        "reversal",
    }


def test_an_unknown_person_has_no_transcript(session: Session) -> None:
    with pytest.raises(UnknownPersonError):
        build_transcript(session, "nobody")
