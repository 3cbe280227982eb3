"""R3: a bachelor's degree holder applying for a junior title: 90 hours in the current year.

# seed: 002_3f11e0b9a6581793.txt
本科及以上学历申报初级职称提供本年度不少于90学时证明。
"""

from __future__ import annotations

from decimal import Decimal

from tests.unit.ledger.compliance.facts import (
    OTHER_CITY,
    copy_on,
    credit,
    evaluate,
    reversal,
    rule,
    verdict,
)

PROFILE = "quzhou-junior-bachelor"
AS_OF = "2020-08-15"


def ninety() -> list:
    return [
        credit("specialised", "45", "2020-01-10", code="S-1"),
        credit("specialised", "27", "2020-04-10", code="S-2"),
        credit("general_public", "18", "2020-07-10", code="G-1"),
    ]


def test_ninety_hours_so_far_this_year_is_compliant():
    # seed: 002_3f11e0b9a6581793.txt
    result = evaluate(PROFILE, AS_OF, *ninety())
    assert result.compliant
    assert result.window == (2020,)


def test_eighty_nine_and_a_half_hours_is_short_by_half_an_hour():
    # seed: 002_3f11e0b9a6581793.txt
    entries = [*ninety()[:2], credit("general_public", "17.5", "2020-07-10")]
    total = rule(evaluate(PROFILE, AS_OF, *entries), "total")
    assert (total.passed, total.shortfall) == (False, Decimal("0.5"))


def test_any_split_of_ninety_hours_is_enough_for_a_junior_title():
    # seed: 002_3f11e0b9a6581793.txt (本年度不少于90学时: no category split)
    result = evaluate(PROFILE, AS_OF, credit("specialised", "90", "2020-03-01"))
    assert result.compliant


def test_hours_of_last_year_do_not_count_for_the_current_year():
    # seed: 002_3f11e0b9a6581793.txt (本年度)
    entries = ninety()
    last_year = credit("general_public", "18", "2019-12-20")
    entries[-1] = last_year
    result = evaluate(PROFILE, AS_OF, *entries)
    assert verdict(result, last_year)[:2] == (False, "outside_window")
    assert not result.compliant


def test_hours_completed_after_the_as_of_date_do_not_count():
    # seed: 002_3f11e0b9a6581793.txt; cut-off as of a date (R10)
    result = evaluate(PROFILE, "2020-07-09", *ninety())
    assert rule(result, "total").actual == Decimal("72.0")
    assert not result.compliant


def test_a_reversed_entry_tips_the_result():
    # seed: 002_3f11e0b9a6581793.txt
    entries = ninety()
    result = evaluate(PROFILE, AS_OF, *entries, reversal(entries[0]))
    assert rule(result, "total").shortfall == Decimal("45.0")
    assert not result.compliant


def test_a_completion_on_two_city_platforms_counts_once():
    # seed: 002_3f11e0b9a6581793.txt (R6)
    entries = [*ninety()[:2], credit("general_public", "17.5", "2020-07-10", title="法治 教育")]
    twin = copy_on(entries[-1], OTHER_CITY)
    result = evaluate(PROFILE, AS_OF, *entries, twin)
    assert verdict(result, twin) == (False, "duplicate", entries[-1].id)
    assert not result.compliant
