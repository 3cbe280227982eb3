"""The evaluator's mechanics: caps, per-year figures, supersedes, the frame, JSON output."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest

from ledger.compliance.catalogue import catalogue
from ledger.compliance.facts import resolve_frame
from ledger.compliance.profile_files import load_document, parse_profile
from ledger.compliance.results import evaluate_facts
from ledger.errors import ValidationError
from tests.unit.ledger.compliance.facts import credit, evaluate, reversal, verdict

CAPPED = parse_profile(
    load_document(
        """
id: capped-example
version: 1
title: {zh: 示例, en: Example with a cap}
notice: {document: example}
window: {relative: [-1, 0]}
source_policy: {hours_of_record: city}
caps:
  - {category: specialised, per_year: 40}
rules:
  - {id: total, kind: minimum, of: all, per: year, hours: 50}
"""
    )
)
YEAR_END = dt.date(2024, 12, 31)


def test_a_cap_holds_back_specialised_hours_above_it_in_a_year():
    entries = [
        credit("specialised", "45.5", "2023-03-01"),
        credit("general_public", "9.5", "2023-04-01"),
        credit("specialised", "30", "2024-03-01"),
        credit("general_public", "20", "2024-04-01"),
    ]
    result = evaluate_facts(CAPPED, YEAR_END, "p", entries)
    assert result.totals[2023]["specialised"] == Decimal("40.0")
    assert result.capped == {2023: {"specialised": Decimal("5.5")}}
    # Uncapped, 2023 would have 55; capped it has 49.5 and fails by half an hour.
    assert [c.shortfall for c in result.rules[0].checks] == [Decimal("0.5"), Decimal("0.0")]
    assert not result.compliant


def test_a_per_year_rule_reports_its_weakest_year_and_the_sum_of_shortfalls():
    entries = [
        credit("general_public", "45", "2023-04-01"),
        credit("specialised", "30", "2024-01-01"),
    ]
    total = evaluate_facts(CAPPED, YEAR_END, "p", entries).rules[0]
    assert [(c.year, c.shortfall) for c in total.checks] == [
        (2023, Decimal("5.0")),
        (2024, Decimal("20.0")),
    ]
    assert (total.actual, total.shortfall) == (Decimal("30.0"), Decimal("25.0"))
    assert total.passed is False


def test_a_superseded_credit_is_explained_as_superseded_and_its_correction_counts():
    old = credit("specialised", "60", "2020-02-01")
    undo = reversal(old, "superseded by corrected record")
    new = credit("specialised", "65", "2020-02-01")._replace(supersedes_id=old.id)
    result = evaluate("quzhou-initial-determination", "2020-12-31", old, undo, new)
    assert verdict(result, old) == (False, "superseded", new.id)
    assert verdict(result, new) == (True, None, None)
    assert result.totals[2020]["specialised"] == Decimal("65.0")


def test_the_cut_off_convention_before_excludes_the_as_of_day_itself():
    profile = dataclasses.replace(catalogue().get("quzhou-annual-90"), cutoff="before")
    assert resolve_frame(profile, dt.date(2024, 7, 31)).last_day == dt.date(2024, 7, 30)


def test_an_as_of_date_before_1990_is_refused():
    # R10 (seeds 001, 003): a check is as of a date; none can be before the ledger's hours.
    profile = catalogue().get("quzhou-annual-90")
    with pytest.raises(ValidationError) as caught:
        resolve_frame(profile, dt.date(1989, 12, 31))
    assert caught.value.errors == {"as_of": ["must be a date from 1990 on"]}
    assert resolve_frame(profile, dt.date(1990, 1, 1)).as_of == dt.date(1990, 1, 1)


def test_the_result_is_json_ready_with_hours_as_strings():
    entries = [credit("specialised", "89.5", "2024-03-01")]
    data = evaluate("quzhou-annual-90", "2024-12-31", *entries).to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert data["rules"][0]["shortfall"] == "0.5"
    assert data["totals"]["2024"]["total"] == "89.5"
    assert data["entries"][0]["hours"] == "89.5"
    assert data["counted_entry_ids"] == [entries[0].id]
    assert data["profile"]["digest"] == catalogue().get("quzhou-annual-90").digest
    assert "89.5" in text
    assert data["source_policy"]["industry_decided_by"] == "has_entries"
