"""R7 + R8: Cixi 2021 intermediate applications.

# seed: 003_befbf03be78c027b.txt
2019年—2021年,所有中级申报人员每年继续教育一般公需科目不得少于18学时,未达要求不得申报。
专业科目继续教育学时作为附加分纳入评审考核指标体系。
"""

from __future__ import annotations

from decimal import Decimal

from tests.unit.ledger.compliance.facts import (
    PROVINCE,
    copy_on,
    credit,
    evaluate,
    reversal,
    rule,
    verdict,
)

PROFILE = "cixi-2021-intermediate"
AS_OF = "2021-12-31"


def just_compliant() -> list:
    return [
        credit("general_public", "18", "2019-06-01", code="G-19"),
        credit("general_public", "18", "2020-06-01", code="G-20"),
        credit("general_public", "10", "2021-03-01", code="G-21a"),
        credit("general_public", "8", "2021-07-20", code="G-21b"),
    ]


def test_eighteen_general_public_hours_in_each_of_the_three_years_is_compliant():
    # seed: 003_befbf03be78c027b.txt
    result = evaluate(PROFILE, AS_OF, *just_compliant())
    assert result.compliant
    assert result.window == (2019, 2020, 2021)
    gp = rule(result, "general_public")
    assert [c.year for c in gp.checks] == [2019, 2020, 2021]
    assert all(c.passed for c in gp.checks)


def test_specialised_hours_are_reported_as_bonus_and_never_fail():
    # seed: 003_befbf03be78c027b.txt (专业科目继续教育学时作为附加分)
    result = evaluate(PROFILE, AS_OF, *just_compliant())
    bonus = rule(result, "specialised_bonus")
    assert bonus.passed is None
    assert bonus.required is None
    assert result.compliant
    with_bonus = evaluate(
        PROFILE, AS_OF, *just_compliant(), credit("specialised", "40.5", "2020-09-09")
    )
    assert rule(with_bonus, "specialised_bonus_total").actual == Decimal("40.5")
    assert [c.actual for c in rule(with_bonus, "specialised_bonus").checks] == [
        Decimal("0.0"),
        Decimal("40.5"),
        Decimal("0.0"),
    ]


def test_one_year_short_by_half_an_hour_fails_that_year():
    # seed: 003_befbf03be78c027b.txt (未达要求不得申报)
    entries = just_compliant()
    entries[1] = credit("general_public", "17.5", "2020-06-01")
    gp = rule(evaluate(PROFILE, AS_OF, *entries), "general_public")
    assert [c.passed for c in gp.checks] == [True, False, True]
    assert gp.shortfall == Decimal("0.5")
    assert gp.actual == Decimal("17.5")


def test_fifty_four_hours_all_in_2021_fail_the_each_year_rule():
    # seed: 003_befbf03be78c027b.txt (每年)
    result = evaluate(PROFILE, AS_OF, credit("general_public", "54", "2021-03-01"))
    gp = rule(result, "general_public")
    assert [c.passed for c in gp.checks] == [False, False, True]
    assert gp.shortfall == Decimal("36.0")
    assert not result.compliant


def test_specialised_or_industry_public_hours_do_not_stand_in_for_general_public():
    # seed: 003_befbf03be78c027b.txt (一般公需科目)
    entries = just_compliant()
    entries[0] = credit("industry_public", "18", "2019-06-01")
    assert not evaluate(PROFILE, AS_OF, *entries).compliant


def test_hours_of_2018_are_outside_the_2019_2021_window():
    # seed: 003_befbf03be78c027b.txt (2019年—2021年)
    entries = just_compliant()
    old = credit("general_public", "18", "2018-12-31")
    entries[0] = old
    result = evaluate(PROFILE, AS_OF, *entries)
    assert verdict(result, old)[:2] == (False, "outside_window")
    assert not result.compliant


def test_hours_completed_after_the_as_of_date_do_not_count():
    # seed: 003_befbf03be78c027b.txt (applications open 2021-07-30; cut-off as of a date, R10)
    result = evaluate(PROFILE, "2021-07-19", *just_compliant())
    assert rule(result, "general_public").checks[2].shortfall == Decimal("8.0")
    assert not result.compliant
    assert evaluate(PROFILE, "2021-07-30", *just_compliant()).compliant


def test_a_reversed_entry_tips_the_result():
    # seed: 003_befbf03be78c027b.txt
    entries = just_compliant()
    result = evaluate(PROFILE, AS_OF, *entries, reversal(entries[3]))
    assert not result.compliant


def test_a_completion_also_registered_on_the_province_platform_counts_once():
    # seed: 003_befbf03be78c027b.txt (hours of the 宁波 registration system); RULES.md R6
    entries = just_compliant()
    entries[0] = credit("general_public", "17.5", "2019-06-01", code="G-19")
    twin = copy_on(entries[0], PROVINCE)
    result = evaluate(PROFILE, AS_OF, *entries, twin)
    assert verdict(result, twin) == (False, "duplicate", entries[0].id)
    assert rule(result, "general_public").checks[0].actual == Decimal("17.5")
    assert not result.compliant
