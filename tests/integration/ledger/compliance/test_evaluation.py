"""Evaluating people held in a real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.compliance.catalogue import get_profile
from ledger.compliance.evaluation import evaluate
from ledger.db.engine import make_engine, make_session_factory
from ledger.db.transactions import read_transaction
from ledger.entries.append import append_records
from ledger.entries.people import find_person_id
from ledger.entries.reversal import reverse_record
from ledger.entries.sources import add_source
from ledger.entries.tables import Person
from ledger.errors import UnknownPersonError
from tests.factories import city_source, id_number, province_source, record

R2 = get_profile("quzhou-2020-intermediate")
AS_OF = dt.date(2020, 7, 31)


def r2_records(person: int = 1, prefix: str = "q") -> list[dict]:
    """Exactly compliant with R2 (seed 002_3f11e0b9a6581793.txt): 144 specialised, 36 public."""
    return [
        record(
            f"{prefix}1",
            person=person,
            hours="60",
            completed_on="2019-04-10",
            course={"code": "S-1"},
        ),
        record(
            f"{prefix}2",
            person=person,
            category="general_public",
            hours="18",
            completed_on="2019-09-01",
            course={"code": "G-1"},
        ),
        record(
            f"{prefix}3",
            person=person,
            hours="60",
            completed_on="2020-03-15",
            course={"code": "S-2"},
        ),
        record(
            f"{prefix}4",
            person=person,
            category="industry_public",
            hours="18",
            completed_on="2020-05-20",
            course={"code": "I-1"},
        ),
        record(
            f"{prefix}5",
            person=person,
            hours="24",
            completed_on="2020-06-30",
            course={"code": "S-3", "title": "安全生产"},
        ),
    ]


def test_a_person_exactly_at_the_r2_minimums_is_compliant_and_every_entry_is_listed(
    session: Session,
):
    # seed: 002_3f11e0b9a6581793.txt
    source = city_source(session)
    created = append_records(session, source, r2_records(), actor="test")
    pid = created[0].person_id
    assert pid is not None
    result = evaluate(session, pid, R2, AS_OF)
    assert result.compliant
    assert result.counted_entry_ids == tuple(sorted(r.entry_id for r in created))
    with read_transaction(session):
        person = session.get(Person, pid)
        assert person is not None
        assert (result.head_hash, result.entry_count) == (person.head_hash, person.entry_count)
    assert result.to_dict()["window_totals"]["total"] == "180.0"


def test_reversing_a_record_tips_the_result_and_explains_why(session: Session):
    # seed: 002_3f11e0b9a6581793.txt
    source = city_source(session)
    created = append_records(session, source, r2_records(), actor="test")
    pid = created[0].person_id
    assert pid is not None
    undo = reverse_record(session, source, "q2", reason="not attended", actor="operator")
    result = evaluate(session, pid, R2, AS_OF)
    assert not result.compliant
    by_id = {v.entry.id: v for v in result.entries}
    assert by_id[created[1].entry_id].reason == "reversed"
    assert by_id[created[1].entry_id].related_entry_id == undo.entry_id
    assert "not attended" in (by_id[created[1].entry_id].detail or "")
    assert by_id[undo.entry_id].reason == "reversal"
    assert created[1].entry_id not in result.counted_entry_ids


def test_a_correction_that_moves_a_completion_into_another_year_is_explained(session: Session):
    source = city_source(session)
    created = append_records(session, source, r2_records(), actor="test")
    pid = created[0].person_id
    assert pid is not None
    corrected = record(
        "q2",
        category="general_public",
        hours="18",
        completed_on="2021-01-05",
        course={"code": "G-1"},
    )
    (replaced,) = append_records(session, source, [corrected], actor="test", supersede=True)
    result = evaluate(session, pid, get_profile("quzhou-annual-90"), dt.date(2019, 12, 31))
    old = next(v for v in result.entries if v.entry.id == created[1].entry_id)
    assert (old.reason, old.related_entry_id) == ("superseded", replaced.entry_id)


def test_a_province_copy_of_a_city_completion_counts_once(session: Session):
    # seed: 002_3f11e0b9a6581793.txt (以省行业平台登记的学时为准; the same completion counts once)
    city, province = city_source(session), province_source(session)
    on_city = append_records(session, city, r2_records(), actor="test")
    on_province = append_records(session, province, r2_records(prefix="p"), actor="test")
    pid = on_city[0].person_id
    assert pid is not None
    result = evaluate(session, pid, R2, AS_OF)
    assert result.industry_platform
    assert result.window_totals["total"] == Decimal("180.0")
    duplicates = {v.entry.id: v.related_entry_id for v in result.entries if v.reason == "duplicate"}
    assert duplicates == {c.entry_id: p.entry_id for c, p in zip(on_city, on_province, strict=True)}
    assert result.compliant


def test_totals_from_balances_equal_totals_from_entries(session: Session):
    city, province = city_source(session), province_source(session)
    add_source(session, "ningbo-city", kind="city", region_code="330200", display_name="宁波")
    created = append_records(session, city, r2_records(), actor="test")
    append_records(session, "ningbo-city", r2_records(prefix="n")[2:], actor="test")
    append_records(session, province, r2_records(prefix="p")[:1], actor="test")
    reverse_record(session, city, "q4", reason="wrong", actor="op")
    pid = created[0].person_id
    assert pid is not None
    for profile in ("quzhou-2020-intermediate", "quzhou-annual-90", "cixi-2021-intermediate"):
        for as_of in (dt.date(2019, 12, 31), AS_OF, dt.date(2022, 1, 1)):
            for industry in (None, False):
                full = evaluate(
                    session, pid, get_profile(profile), as_of, industry_platform=industry
                )
                quick = evaluate(
                    session,
                    pid,
                    get_profile(profile),
                    as_of,
                    industry_platform=industry,
                    explain=False,
                )
                assert quick.basis == "balances"
                assert quick.entries == ()
                assert full.outcome() == quick.outcome()


def test_an_unknown_person_is_an_error(session: Session):
    with pytest.raises(UnknownPersonError):
        evaluate(session, "p_nobody", R2, AS_OF)


def test_a_person_with_no_entries_near_the_window_gets_an_empty_explanation(session: Session):
    # R2's window as of 2020 is 2019-2020; entries of 2018-2021 are listed, 2016's are not.
    source = city_source(session)
    created = append_records(
        session, source, [record("old", hours="90", completed_on="2016-05-01")], actor="test"
    )
    pid = created[0].person_id
    assert pid is not None
    result = evaluate(session, pid, R2, AS_OF)
    assert (result.entries, result.counted_entry_ids) == ((), ())
    assert not result.compliant
    with read_transaction(session):
        head, count = session.execute(
            select(Person.head_hash, Person.entry_count).where(Person.id == pid)
        ).one()
    assert (result.head_hash, result.entry_count) == (head, count) == (head, 1)


def test_evaluation_joins_a_transaction_the_caller_already_holds(session: Session):
    source = city_source(session)
    created = append_records(session, source, r2_records(), actor="test")
    pid = created[0].person_id
    assert pid is not None
    with session.begin():
        session.execute(select(Person.id).where(Person.id == pid).with_for_update())
        assert evaluate(session, pid, R2, AS_OF).compliant
        assert session.in_transaction()


def test_a_person_is_found_by_id_number_without_it_appearing_in_the_result(session: Session):
    source = city_source(session)
    append_records(session, source, r2_records(), actor="test")
    pid = find_person_id(session, id_number(1))
    assert id_number(1) not in str(evaluate(session, pid, R2, AS_OF).to_dict())


# --- the balances property on a real database (SQLite: its subject is not the database) -------

_people = iter(range(10_000, 20_000))
records_strategy = st.lists(
    st.tuples(
        st.sampled_from(["quzhou-city", "ningbo-city", "zj-industry"]),
        st.sampled_from(["specialised", "industry_public", "general_public"]),
        st.integers(1, 400),
        st.dates(dt.date(2018, 1, 1), dt.date(2022, 12, 31)),
        st.sampled_from([None, "A", "B"]),
        st.booleans(),  # reverse it afterwards
    ),
    max_size=14,
)


@pytest.fixture
def sqlite_sessions(sqlite_url: str):
    engine = make_engine(sqlite_url)
    factory = make_session_factory(engine)
    with factory() as s:
        city_source(s)
        province_source(s)
        add_source(s, "ningbo-city", kind="city", region_code="330200", display_name="宁波")
    yield factory
    engine.dispose()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records_strategy,
    st.sampled_from(
        [
            "quzhou-2020-intermediate",
            "quzhou-annual-90",
            "cixi-2021-intermediate",
            "quzhou-initial-determination",
        ]
    ),
    st.dates(dt.date(2019, 1, 1), dt.date(2023, 1, 1)),
)
def test_property_balances_and_entries_agree_on_any_ledger(
    sqlite_sessions: sessionmaker[Session], rows, profile_id, as_of
):
    person = next(_people)
    with sqlite_sessions() as session:
        reversals = []
        for n, (source, category, tenths, day, code, undo) in enumerate(rows):
            rec = record(
                f"h{person}-{n}",
                person=person,
                category=category,
                hours=str(Decimal(tenths) / 10),
                completed_on=day.isoformat(),
                **({"course": {"code": code}} if code else {}),
            )
            append_records(session, source, [rec], actor="prop")
            if undo:
                reversals.append((source, rec["external_id"]))
        for source, external_id in reversals:
            reverse_record(session, source, external_id, reason="prop", actor="prop")
        if not rows:
            return
        pid = find_person_id(session, id_number(person))
        profile = get_profile(profile_id)
        full = evaluate(session, pid, profile, as_of)
        quick = evaluate(session, pid, profile, as_of, explain=False)
        assert full.outcome() == quick.outcome()
