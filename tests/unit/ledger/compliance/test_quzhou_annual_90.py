"""R1: at least 90 hours every year.

# seed: 002_3f11e0b9a6581793.txt
专业技术人员每年度参加继续教育不得少于90学时。
"""

from __future__ import annotations

from decimal import Decimal

from tests.unit.ledger.compliance.facts import (
    OTHER_CITY,
    PROVINCE,
    copy_on,
    credit,
    evaluate,
    reversal,
    rule,
    verdict,
)

PROFILE = "quzhou-annual-90"
YEAR_END = "2024-12-31"


def ninety(source: tuple[str, str] | None = None) -> list:
    kw = {"source": source} if source else {}
    return [
        credit("specialised", "60", "2024-03-01", code="S-1", **kw),
        credit("general_public", "20", "2024-05-01", code="G-1", **kw),
        credit("industry_public", "10", "2024-10-01", code="I-1", **kw),
    ]


def test_ninety_hours_in_the_year_is_compliant():
    # seed: 002_3f11e0b9a6581793.txt
    result = evaluate(PROFILE, YEAR_END, *ninety())
    assert result.compliant
    assert result.window == (2024,)
    assert result.totals[2024]["specialised"] == Decimal("60.0")


def test_eighty_nine_and_a_half_hours_is_short_by_half_an_hour():
    # seed: 002_3f11e0b9a6581793.txt
    entries = ninety()
    entries[-1] = credit("industry_public", "9.5", "2024-10-01")
    result = evaluate(PROFILE, YEAR_END, *entries)
    total = rule(result, "total")
    assert (total.passed, total.actual, total.shortfall) == (False, Decimal("89.5"), Decimal("0.5"))
    assert not result.compliant


def test_the_annual_rule_sets_no_category_split():
    # seed: 002_3f11e0b9a6581793.txt (the annual rule names no categories)
    result = evaluate(PROFILE, YEAR_END, credit("general_public", "90", "2024-06-01"))
    assert result.compliant


def test_hours_of_the_previous_year_do_not_count_for_this_year():
    # seed: 002_3f11e0b9a6581793.txt (每年度)
    entries = ninety()
    last_year = credit("industry_public", "10", "2023-12-31")
    entries[-1] = last_year
    result = evaluate(PROFILE, YEAR_END, *entries)
    assert verdict(result, last_year)[:2] == (False, "outside_window")
    assert not result.compliant
    assert evaluate(PROFILE, "2023-12-31", *entries).window == (2023,)


def test_hours_completed_after_the_as_of_date_do_not_count():
    # seed: 002_3f11e0b9a6581793.txt; cut-off as of a date (R10)
    entries = ninety()
    result = evaluate(PROFILE, "2024-09-30", *entries)
    assert verdict(result, entries[2])[:2] == (False, "after_cutoff")
    assert rule(result, "total").shortfall == Decimal("10.0")
    assert not result.compliant


def test_a_reversed_entry_tips_the_year_below_ninety():
    # seed: 002_3f11e0b9a6581793.txt
    entries = ninety()
    result = evaluate(PROFILE, YEAR_END, *entries, reversal(entries[2]))
    assert verdict(result, entries[2])[:2] == (False, "reversed")
    assert not result.compliant


def test_a_completion_on_two_city_platforms_counts_once():
    # seed: 002_3f11e0b9a6581793.txt (R6)
    entries = ninety()
    entries[-1] = credit("industry_public", "9.5", "2024-10-01", code="I-1")
    twin = copy_on(entries[-1], OTHER_CITY)
    result = evaluate(PROFILE, YEAR_END, *entries, twin)
    assert verdict(result, twin) == (False, "duplicate", entries[-1].id)
    assert rule(result, "total").actual == Decimal("89.5")
    assert not result.compliant


def test_province_copies_of_city_courses_count_once_on_the_province_platform():
    # seed: 002_3f11e0b9a6581793.txt (以省行业平台登记的学时为准)
    on_province = ninety(PROVINCE)
    city_copies = [copy_on(e, ("quzhou-city", "city")) for e in on_province]
    result = evaluate(PROFILE, YEAR_END, *city_copies, *on_province)
    assert result.hours_of_record == "province_industry"
    assert all(verdict(result, c)[1] == "duplicate" for c in city_copies)
    assert rule(result, "total").actual == Decimal("90.0")
