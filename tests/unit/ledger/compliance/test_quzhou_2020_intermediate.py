"""R2: Quzhou 2020, intermediate title and below.

# seed: 002_3f11e0b9a6581793.txt
2020年申报中级及以下职称要求提供近两年(2019-2020年)累计不少于180学时证明,其中专业科目不少于
120学时,行业公需和一般公需科目共不少于36学时。
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

PROFILE = "quzhou-2020-intermediate"
AS_OF = "2020-07-31"


def just_compliant(source: tuple[str, str] | None = None) -> list:
    """180 hours over 2019-2020: specialised 144, public 36 (18 general + 18 industry)."""
    kw = {"source": source} if source else {}
    return [
        credit("specialised", "60", "2019-04-10", code="S-1", **kw),
        credit("general_public", "18", "2019-09-01", code="G-1", **kw),
        credit("specialised", "60", "2020-03-15", code="S-2", **kw),
        credit("industry_public", "18", "2020-05-20", code="I-1", **kw),
        credit("specialised", "24", "2020-06-30", code="S-3", **kw),
    ]


def test_exactly_180_with_120_specialised_and_36_public_is_compliant():
    # seed: 002_3f11e0b9a6581793.txt
    result = evaluate(PROFILE, AS_OF, *just_compliant())
    assert result.compliant
    assert result.window == (2019, 2020)
    assert result.window_totals["total"] == Decimal("180.0")
    assert [r.passed for r in result.rules] == [True, True, True]
    assert len(result.counted_entry_ids) == 5


def test_public_short_by_half_an_hour_fails_the_public_rule_only():
    # seed: 002_3f11e0b9a6581793.txt
    entries = [
        credit("specialised", "144.5", "2019-04-10"),
        credit("general_public", "17.5", "2019-09-01"),
        credit("industry_public", "18", "2020-05-20"),
    ]
    result = evaluate(PROFILE, AS_OF, *entries)
    assert not result.compliant
    assert rule(result, "total").passed
    assert rule(result, "specialised").passed
    public = rule(result, "public")
    assert (public.passed, public.actual, public.shortfall) == (
        False,
        Decimal("35.5"),
        Decimal("0.5"),
    )


def test_180_in_total_with_only_100_specialised_fails_the_split():
    # seed: 002_3f11e0b9a6581793.txt
    entries = [
        credit("specialised", "100", "2019-04-10"),
        credit("general_public", "40", "2019-09-01"),
        credit("industry_public", "40", "2020-05-20"),
    ]
    result = evaluate(PROFILE, AS_OF, *entries)
    assert rule(result, "total").passed
    specialised = rule(result, "specialised")
    assert (specialised.passed, specialised.shortfall) == (False, Decimal("20.0"))
    assert not result.compliant


def test_hours_completed_in_2018_are_outside_the_2019_2020_window():
    # seed: 002_3f11e0b9a6581793.txt (近两年(2019-2020年))
    entries = just_compliant()
    early = credit("specialised", "24", "2018-12-30", code="S-3")
    entries[-1] = early
    result = evaluate(PROFILE, AS_OF, *entries)
    assert verdict(result, early) == (False, "outside_window", None)
    assert rule(result, "total").shortfall == Decimal("24.0")
    assert not result.compliant


def test_hours_completed_after_the_as_of_date_do_not_count():
    # seed: 002_3f11e0b9a6581793.txt; cut-off as of a date (R10)
    entries = just_compliant()
    late = credit("specialised", "24", "2020-08-01", code="S-3")
    entries[-1] = late
    result = evaluate(PROFILE, AS_OF, *entries)
    assert verdict(result, late)[:2] == (False, "after_cutoff")
    assert rule(result, "total").actual == Decimal("156.0")
    assert not result.compliant
    assert evaluate(PROFILE, "2020-08-01", *entries).compliant


def test_a_reversed_public_entry_tips_the_result_to_non_compliant():
    # seed: 002_3f11e0b9a6581793.txt
    entries = just_compliant()
    undo = reversal(entries[1])
    result = evaluate(PROFILE, AS_OF, *entries, undo)
    assert verdict(result, entries[1]) == (False, "reversed", undo.id)
    assert verdict(result, undo)[:2] == (False, "reversal")
    assert rule(result, "public").shortfall == Decimal("18.0")
    assert not result.compliant


def test_a_completion_registered_on_two_city_platforms_counts_once():
    # seed: 002_3f11e0b9a6581793.txt (R6: the same completion counts once)
    entries = just_compliant()
    entries[-1] = credit("specialised", "23.5", "2020-06-30", title="安全生产 专题")
    twin = copy_on(entries[-1], OTHER_CITY)
    result = evaluate(PROFILE, AS_OF, *entries, twin)
    assert verdict(result, twin) == (False, "duplicate", entries[-1].id)
    # Counted twice it would reach 203 and pass; counted once it is half an hour short.
    assert rule(result, "total").shortfall == Decimal("0.5")
    assert not result.compliant


def test_city_hours_re_registered_on_the_province_platform_count_once_there():
    # seed: 002_3f11e0b9a6581793.txt (以省行业平台登记的学时为准)
    on_province = just_compliant(PROVINCE)
    city_copy = copy_on(on_province[0], ("quzhou-city", "city"))
    result = evaluate(PROFILE, AS_OF, city_copy, *on_province)
    assert result.industry_platform
    assert verdict(result, city_copy) == (False, "duplicate", on_province[0].id)
    assert result.window_totals["total"] == Decimal("180.0")
    assert result.compliant


def test_city_only_hours_do_not_count_for_a_person_managed_on_the_province_platform():
    # seed: 002_3f11e0b9a6581793.txt
    # (省行业主管部门要求统一纳入省行业平台管理的,以省行业平台登记的学时为准)
    on_province = just_compliant(PROVINCE)[:-1]
    city_only = credit("specialised", "24", "2020-06-30", code="CITY-ONLY")
    result = evaluate(PROFILE, AS_OF, city_only, *on_province)
    assert verdict(result, city_only)[:2] == (False, "not_authoritative")
    assert not result.compliant
    assert evaluate(PROFILE, AS_OF, city_only, *on_province, industry=False).hours_of_record == (
        "city"
    )
