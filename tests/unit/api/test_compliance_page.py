"""The compliance page's explanation and chart, from an in-memory evaluation (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from api.pages import chart
from api.pages.compliance import _explain
from ledger.compliance.catalogue import get_profile
from ledger.compliance.profile_files import load_document, parse_profile
from ledger.compliance.results import evaluate_facts
from ledger.compliance.transcripts import Transcript
from tests.unit.ledger.compliance.facts import CITY, credit

CAPPED = parse_profile(
    load_document(
        """
id: capped
version: 1
title: {zh: 示例, en: A cap on specialised hours}
notice: {document: example}
window: {years: [2024]}
source_policy: {hours_of_record: city}
caps:
  - {category: specialised, per_year: 30}
rules:
  - {id: total, kind: minimum, of: all, per: year, hours: 50, label: {zh: 年度合计, en: Total}}
"""
    )
)


def _empty_transcript() -> Transcript:
    return Transcript("p", "张三", "3308**", dt.date(2025, 1, 1), (), {}, None, 0)


def test_hours_a_cap_held_back_are_explained_with_the_rule_they_affect() -> None:
    entries = [credit("specialised", "45", "2024-03-01", source=CITY, code="S-1")]
    result = evaluate_facts(CAPPED, dt.date(2024, 12, 31), "p", entries)
    assert result.capped == {2024: {"specialised": Decimal("15.0")}}
    page = _explain(result, _empty_transcript())
    (capped,) = page["explained"]
    assert capped.code == "capped"
    assert capped.hours == "15.0"
    assert capped.why == "每年最多计入 30.0 学时,超出 15.0 学时"
    assert capped.rules == ("年度合计",)


def test_a_per_year_rules_line_stands_at_its_hours_on_the_bars_scale() -> None:
    entries = [
        credit("specialised", "60", "2020-03-01", source=CITY),
        credit("general_public", "30", "2020-04-01", source=CITY),
        credit("specialised", "45", "2019-04-01", source=CITY),
    ]
    profile = get_profile("quzhou-2020-intermediate")
    result = evaluate_facts(profile, dt.date(2020, 12, 31), "p", entries)
    total, specialised, public = chart.chart_panels(result)
    # The window rule: a bar per year and the total's, the line across the total only.
    assert [b.label for b in total.bars] == ["2019", "2020", "合计"]
    assert [b.total for b in total.bars] == ["45.0", "90.0", "135.0"]
    # The scale's top is 180 (the requirement beats 135): 180 at the bars' right end.
    assert total.line_x == chart.BAR_X + chart.BAR_WIDTH
    summed = total.bars[2].segments
    assert [s.category for s in summed] == ["specialised", "general_public"]
    assert sum(s.width for s in summed) == round(chart.BAR_WIDTH * 135 / 180, 2)
    assert total.line_top == total.bars[2].y - 5
    assert total.bars[2].met is False
    assert total.bars[0].met is None
    assert total.summary == (
        "近两年累计学时:合计要求 180.0 学时,"
        "实际 2019 年 45.0、2020 年 90.0,合计 135.0 学时,差 45.0 学时"
    )
    # Public: 30 of 36 needed; specialised 105 of 120.
    assert public.line_x == round(chart.BAR_X + chart.BAR_WIDTH * 36 / 36, 2)
    assert specialised.bars[2].total == "105.0"
