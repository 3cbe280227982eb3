"""A cohort evaluated in a real ledger: each person exactly as alone, errors person by person."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from ledger.compliance.catalogue import get_profile
from ledger.compliance.cohorts import MAX_COHORT, evaluate_cohort
from ledger.compliance.evaluation import evaluate
from ledger.entries.append import append_records
from ledger.errors import DuplicatePersonError, UnknownPersonError, ValidationError
from tests.factories import city_source, id_number, record

# R1 (seed 002_3f11e0b9a6581793.txt): 90 hours in the year.
R1 = get_profile("quzhou-annual-90")
AS_OF = dt.date(2024, 12, 31)


def people_with_hours(session: Session, hours: dict[int, str]) -> dict[int, str]:
    """Person n -> their person id, each with one completion of the hours given."""
    source = city_source(session)
    results = append_records(
        session,
        source,
        [record(f"r-{n}", person=n, hours=h, completed_on="2024-05-01") for n, h in hours.items()],
        actor="platform",
    )
    return {n: r.person_id or "" for n, r in zip(hours, results, strict=True)}


@pytest.mark.parametrize("explain", [False, True])
def test_each_person_gets_what_an_evaluation_of_them_alone_gives(
    session: Session, explain: bool
) -> None:
    ids = people_with_hours(session, {1: "95", 2: "40", 3: "90"})
    people = [
        {"id_number": id_number(1), "ref": "A-1"},
        {"person_id": ids[2]},
        {"id_number": id_number(3)},
    ]
    results = evaluate_cohort(session, R1, people, AS_OF, explain=explain)
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.ref for r in results] == ["A-1", None, None]
    assert [r.person_id for r in results] == [ids[1], ids[2], ids[3]]
    for result, n in zip(results, (1, 2, 3), strict=True):
        alone = evaluate(session, ids[n], R1, AS_OF, explain=explain)
        assert result.error is None
        assert result.evaluation == alone
    assert [r.evaluation.compliant for r in results if r.evaluation] == [True, False, True]


def test_a_bad_person_does_not_sink_the_others(session: Session) -> None:
    ids = people_with_hours(session, {1: "95"})
    people = [
        {"id_number": "330802199001011231"},  # wrong check character
        {"id_number": id_number(9)},  # valid, but nobody has hours
        {"person_id": "p_nobody"},
        {"person_id": ids[1], "ref": "first"},
        {"id_number": id_number(1), "ref": "again"},  # the same person, by ID number
        {"ref": "nameless"},
        "not an object",
    ]
    results = evaluate_cohort(session, R1, people, AS_OF)
    errors = [type(r.error) for r in results]
    assert errors == [
        ValidationError,
        UnknownPersonError,
        UnknownPersonError,
        type(None),
        DuplicatePersonError,
        ValidationError,
        ValidationError,
    ]
    assert results[3].evaluation is not None
    assert results[3].evaluation.compliant
    assert "number 3" in str(results[4].error)
    assert results[4].ref == "again"


def test_a_cohort_larger_than_the_limit_or_empty_is_refused(session: Session) -> None:
    for people in ([], [{"person_id": f"p_{i}"} for i in range(MAX_COHORT + 1)]):
        with pytest.raises(ValidationError) as caught:
            evaluate_cohort(session, R1, people, AS_OF)
        assert "people" in caught.value.errors


def test_an_as_of_date_before_1990_is_refused_for_the_whole_cohort(session: Session) -> None:
    with pytest.raises(ValidationError):
        evaluate_cohort(session, R1, [{"person_id": "p_1"}], dt.date(1980, 1, 1))
