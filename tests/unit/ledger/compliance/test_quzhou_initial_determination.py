"""R4: initial title determination (职称初定).

# seed: 002_3f11e0b9a6581793.txt
当年度继续教育取得90学时方可申报初定,其中专业科目不少于60学时,行业公需和一般公需科目共不少于18学时。
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

PROFILE = "quzhou-initial-determination"
AS_OF = "2020-09-30"


def just_compliant(source: tuple[str, str] | None = None) -> list:
    """90 hours: specialised 72, industry public 10, general public 8."""
    kw = {"source": source} if source else {}
    return [
        credit("specialised", "60", "2020-02-01", code="S-1", **kw),
        credit("specialised", "12", "2020-03-01", code="S-2", **kw),
        credit("industry_public", "10", "2020-04-01", code="I-1", **kw),
        credit("general_public", "8", "2020-05-01", code="G-1", **kw),
    ]


def test_ninety_hours_with_sixty_specialised_and_eighteen_public_is_compliant():
    # seed: 002_3f11e0b9a6581793.txt
    result = evaluate(PROFILE, AS_OF, *just_compliant())
    assert result.compliant
    assert rule(result, "public").actual == Decimal("18.0")


def test_public_hours_short_by_half_an_hour_fail_the_public_rule():
    # seed: 002_3f11e0b9a6581793.txt
    entries = just_compliant()
    entries[1] = credit("specialised", "12.5", "2020-03-01")
    entries[3] = credit("general_public", "7.5", "2020-05-01")
    result = evaluate(PROFILE, AS_OF, *entries)
    assert rule(result, "total").passed
    public = rule(result, "public")
    assert (public.passed, public.shortfall) == (False, Decimal("0.5"))
    assert not result.compliant


def test_ninety_hours_with_only_fifty_specialised_fails_the_split():
    # seed: 002_3f11e0b9a6581793.txt
    entries = [
        credit("specialised", "50", "2020-02-01"),
        credit("general_public", "40", "2020-05-01"),
    ]
    result = evaluate(PROFILE, AS_OF, *entries)
    assert rule(result, "total").passed
    assert rule(result, "specialised").shortfall == Decimal("10.0")
    assert not result.compliant


def test_hours_of_the_previous_year_do_not_count():
    # seed: 002_3f11e0b9a6581793.txt (当年度)
    entries = just_compliant()
    old = credit("specialised", "60", "2019-11-01")
    entries[0] = old
    result = evaluate(PROFILE, AS_OF, *entries)
    assert verdict(result, old)[:2] == (False, "outside_window")
    assert not result.compliant


def test_hours_completed_after_the_as_of_date_do_not_count():
    # seed: 002_3f11e0b9a6581793.txt; cut-off as of a date (R10)
    result = evaluate(PROFILE, "2020-04-30", *just_compliant())
    assert rule(result, "public").actual == Decimal("10.0")
    assert not result.compliant


def test_a_reversed_specialised_entry_tips_the_result():
    # seed: 002_3f11e0b9a6581793.txt
    entries = just_compliant()
    result = evaluate(PROFILE, AS_OF, *entries, reversal(entries[1]))
    assert rule(result, "specialised").passed  # 60 remain
    assert rule(result, "total").shortfall == Decimal("12.0")
    assert not result.compliant


def test_a_completion_on_two_city_platforms_counts_once():
    # seed: 002_3f11e0b9a6581793.txt (R6)
    entries = just_compliant()
    entries[3] = credit("general_public", "7.5", "2020-05-01", code="G-1")
    twin = copy_on(entries[3], OTHER_CITY)
    result = evaluate(PROFILE, AS_OF, *entries, twin)
    assert verdict(result, twin) == (False, "duplicate", entries[3].id)
    assert rule(result, "public").shortfall == Decimal("0.5")


def test_city_copies_are_duplicates_of_the_province_platform_entries():
    # seed: 002_3f11e0b9a6581793.txt (以省行业平台登记的学时为准)
    on_province = just_compliant(PROVINCE)
    city_copy = copy_on(on_province[2], ("quzhou-city", "city"))
    result = evaluate(PROFILE, AS_OF, *on_province, city_copy)
    assert verdict(result, city_copy) == (False, "duplicate", on_province[2].id)
    assert result.compliant
