"""The answers' schemas say what the ledger's results say of themselves (their ``to_dict``).

The views answer through the schemas; the command line prints ``to_dict``. Both must agree,
member for member and in the same order, so that an answer is the same whichever way it was
produced (and the same as the views wrote by hand before the schemas did it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson

from api.resources.attestations import IssuedSchema, StatusSchema
from api.resources.compliance import ComplianceSchema
from api.resources.sync import StatusListSchema
from ledger.attestations.issuance import Issued
from ledger.attestations.status import StatusInfo
from ledger.compliance.catalogue import get_profile
from ledger.compliance.facts import EntryFact
from ledger.compliance.profile_files import load_document, parse_profile
from ledger.compliance.results import Evaluation, evaluate_facts
from ledger.sync.runs import SourceSyncStatus

_ids = iter(range(1, 10_000))
CAPPED = parse_profile(
    load_document(
        """
id: capped
version: 1
title: {zh: 示例, en: A cap on specialised hours}
notice: {document: example}
window: {relative: [-1, 0]}
source_policy: {hours_of_record: city}
caps:
  - {category: specialised, per_year: 30}
rules:
  - {id: total, kind: minimum, of: all, per: year, hours: 50}
  - {id: public, kind: informational, of: public, per: window}
"""
    )
)


def entry(
    category: str,
    hours: str,
    day: str,
    source: str = "city",
    course: str | None = None,
    reverses_id: int | None = None,
) -> EntryFact:
    return EntryFact(
        id=next(_ids),
        kind="reversal" if Decimal(hours) < 0 else "credit",
        source_id=source,
        source_kind="province_industry" if source == "province" else "city",
        external_id=f"e{day}{hours}",
        category=category,
        hours=Decimal(hours),
        completed_on=dt.date.fromisoformat(day),
        course_code=course,
        course_title=None if course is None else f"课程 {course}",
        reverses_id=reverses_id,
    )


def evaluations() -> list[Evaluation]:
    """Evaluations with every kind of verdict (counted, reversed, a reversal, a duplicate,
    outside the window, after the cut-off, not of record), informational rules and a cap."""
    counted = entry("specialised", "40", "2020-03-01", course="ZY1")
    twin = entry("specialised", "40", "2020-03-01", source="province", course="ZY1")
    cancelled = entry("general_public", "12.5", "2020-04-01")
    undo = entry("general_public", "-12.5", "2020-04-01", reverses_id=cancelled.id)
    facts = [
        counted,
        twin,
        cancelled,
        undo,
        entry("industry_public", "8", "2019-06-01"),
        entry("specialised", "6.5", "2015-01-01"),
        entry("general_public", "3", "2021-02-01"),
        entry("specialised", "5", "2020-09-01"),
    ]
    results = []
    for profile, as_of in (
        (get_profile("quzhou-2020-intermediate"), dt.date(2020, 12, 31)),
        (get_profile("cixi-2021-intermediate"), dt.date(2021, 7, 30)),
        (get_profile("quzhou-annual-90"), dt.date(2020, 6, 30)),
        (CAPPED, dt.date(2020, 12, 31)),
    ):
        results.append(evaluate_facts(profile, as_of, "p-1", facts))
        results.append(evaluate_facts(profile, as_of, "p-1", facts, industry_platform=True))
    return results


def test_a_compliance_answer_is_the_evaluation_as_it_writes_itself() -> None:
    schema = ComplianceSchema()
    for evaluation in evaluations():
        answer = schema.dump(evaluation)
        assert answer == evaluation.to_dict()
        # The same bytes: members in the same order, every value of the same JSON type.
        assert orjson.dumps(answer) == orjson.dumps(evaluation.to_dict())


def test_an_issued_attestation_and_a_status_are_answered_as_they_write_themselves() -> None:
    when = dt.datetime(2024, 5, 1, 8, 30, 15, 120_000, tzinfo=dt.UTC)
    issued = Issued(jti="j-1", token="a.b.c", compliant=True, expires_at=when, kid="k-1")
    status = StatusInfo(jti="j-1", status="stale", reason="an entry was reversed", changed_at=when)
    for schema, result in ((IssuedSchema(), issued), (StatusSchema(), status)):
        assert orjson.dumps(schema.dump(result)) == orjson.dumps(result.to_dict())


def test_a_sources_sync_status_names_the_holder_of_its_live_lease() -> None:
    status = SourceSyncStatus(
        source_id="quzhou-city",
        cursor={"page": 3},
        last_run=None,
        quarantined=2,
        lease_holder="scheduler@host-1",
        lease_expires_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )
    assert StatusListSchema().dump({"sources": [status]}) == {
        "sources": [
            {
                "source_id": "quzhou-city",
                "cursor": {"page": 3},
                "quarantined": 2,
                "running_by": "scheduler@host-1",
                "last_run": None,
            }
        ]
    }
