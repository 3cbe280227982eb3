"""Why an entry did not count, or counted once: every exclusion the evaluator applies, with its
code and the rules it affected (what the compliance page explains).

# seed: 002_3f11e0b9a6581793.txt (R2, R6)
继续教育学时以衢州市专业技术人员继续教育学习平台登记的学时为准(省行业主管部门要求统一纳入省行业
平台管理的,以省行业平台登记的学时为准)。2020年申报中级及以下职称要求提供近两年(2019-2020年)累计
不少于180学时证明,其中专业科目不少于120学时,行业公需和一般公需科目共不少于36学时。
# seed: 001_c7af0360a742f8df.txt, 003_befbf03be78c027b.txt (R10: counted up to a cut-off date)
"""

from __future__ import annotations

from decimal import Decimal

from ledger.compliance.facts import EntryFact
from ledger.compliance.judgement import ExclusionReason
from ledger.compliance.results import Evaluation
from ledger.entries.chain import EntryKind
from ledger.values.reasons import EXCLUSION_REASONS
from tests.unit.ledger.compliance.facts import (
    CITY,
    PROVINCE,
    copy_on,
    credit,
    evaluate,
    reversal,
    rule,
)

PROFILE = "quzhou-2020-intermediate"
AS_OF = "2020-12-31"
ALL_RULES = ("total", "specialised")
PUBLIC_RULES = ("total", "public")


def superseding(old: EntryFact, hours: str) -> EntryFact:
    """The corrected version of ``old`` (same record, new hours), as a supersede appends it."""
    return old._replace(id=old.id + 10_000, hours=Decimal(hours), supersedes_id=old.id)


def line(result: Evaluation, entry: EntryFact) -> tuple[bool, str | None, int | None, tuple]:
    """(counted, reason code, related entry id, rules) of one entry."""
    v = next(v for v in result.entries if v.entry.id == entry.id)
    return v.counted, (v.reason.value if v.reason else None), v.related_entry_id, v.rules


def test_hours_on_the_city_platform_are_not_of_record_when_the_industry_platform_prevails():
    # seed: 002_3f11e0b9a6581793.txt (R6): 以省行业平台登记的学时为准
    prov = credit("specialised", "100", "2019-04-10", source=PROVINCE, code="S-1")
    city = credit("industry_public", "8", "2020-09-09", source=CITY, code="H-1")
    result = evaluate(PROFILE, AS_OF, prov, city)
    assert result.hours_of_record == "province_industry"
    assert line(result, city) == (False, "not_authoritative", None, PUBLIC_RULES)
    assert line(result, prov) == (True, None, None, ALL_RULES)
    assert rule(result, "public").actual == Decimal("0.0")


def test_hours_off_the_city_platform_are_not_of_record_when_the_city_platform_is():
    # seed: 002_3f11e0b9a6581793.txt (R6): 以衢州市专业技术人员继续教育学习平台登记的学时为准
    city = credit("specialised", "100", "2019-04-10", source=CITY, code="S-1")
    elsewhere = credit("general_public", "18", "2019-05-10", source=("zj-prov", "province"))
    result = evaluate(PROFILE, AS_OF, city, elsewhere)
    assert result.hours_of_record == "city"
    assert line(result, elsewhere) == (False, "not_authoritative", None, PUBLIC_RULES)


def test_a_completion_registered_on_two_platforms_counts_once_from_the_platform_of_record():
    # seed: 002_3f11e0b9a6581793.txt (R6); RULES.md: the same completion from two platforms
    prov = credit("specialised", "24", "2019-09-20", source=PROVINCE, code="ZY1907")
    city = copy_on(prov, CITY)
    result = evaluate(PROFILE, AS_OF, city, prov)
    assert line(result, city) == (False, "duplicate", prov.id, ALL_RULES)
    assert line(result, prov)[0] is True
    assert rule(result, "specialised").actual == Decimal("24.0")


def test_an_entry_of_a_year_outside_the_window_does_not_count():
    # seed: 002_3f11e0b9a6581793.txt (R2): 近两年(2019-2020年)
    early = credit("specialised", "30", "2018-12-31", code="S-0")
    late = credit("general_public", "18", "2021-01-01", code="G-9")
    result = evaluate(PROFILE, AS_OF, early, late)
    assert line(result, early) == (False, "outside_window", None, ALL_RULES)
    assert line(result, late) == (False, "outside_window", None, PUBLIC_RULES)
    assert result.window_totals["total"] == Decimal("0.0")


def test_an_entry_completed_after_the_as_of_date_does_not_count():
    # seeds 001_c7af0360a742f8df.txt, 003_befbf03be78c027b.txt (R10): up to the date
    before = credit("specialised", "60", "2020-07-31", code="S-1")
    after = credit("specialised", "40", "2020-08-01", code="S-2")
    result = evaluate(PROFILE, "2020-07-31", before, after)
    assert line(result, after) == (False, "after_cutoff", None, ALL_RULES)
    assert line(result, before)[0] is True
    assert rule(result, "specialised").actual == Decimal("60.0")


def test_a_reversed_entry_does_not_count_and_its_reversal_affects_no_rule():
    # RULES.md: a correction is a new entry that reverses an earlier one (R11, seeds 000-004)
    wrong = credit("specialised", "40", "2019-03-01", code="S-1")
    undo = reversal(wrong, "课程未完成考核")
    result = evaluate(PROFILE, AS_OF, wrong, undo)
    assert line(result, wrong) == (False, "reversed", undo.id, ALL_RULES)
    assert line(result, undo) == (False, "reversal", wrong.id, ())
    assert result.window_totals["total"] == Decimal("0.0")


def test_a_superseded_entry_gives_way_to_its_corrected_record():
    # RULES.md: a correction supersedes an earlier entry; nothing is edited
    old = credit("specialised", "24.5", "2020-10-22", code="ZY2010")
    undo = reversal(old, "superseded by corrected record")
    new = superseding(old, "20.5")
    result = evaluate(PROFILE, AS_OF, old, undo, new)
    assert line(result, old) == (False, "superseded", new.id, ALL_RULES)
    assert line(result, new) == (True, None, None, ALL_RULES)
    assert rule(result, "specialised").actual == Decimal("20.5")


def test_the_entries_listed_account_for_174_5_of_180():
    # Issue 16's case, seed 002 (R2, R6): the transcript's two years add up to 182.5, all
    # counted there; the check counts 174.5 (5.5 short). The 8 hours that make the difference
    # are the city platform's, not of record; the rest are counted once or corrected.
    prov = [
        credit("specialised", "40", "2019-04-12", source=PROVINCE, code="ZY1901"),
        credit("specialised", "24", "2019-09-20", source=PROVINCE, code="ZY1907"),
        credit("general_public", "18", "2019-06-03", source=PROVINCE, code="GX1902"),
        credit("industry_public", "12", "2019-11-08", source=PROVINCE, code="HY1911"),
        credit("specialised", "36", "2020-05-15", source=PROVINCE, code="ZY2003"),
        credit("specialised", "24.5", "2020-10-22", source=PROVINCE, code="ZY2010"),
        credit("general_public", "18", "2020-07-01", source=PROVINCE, code="GX2005"),
        credit("industry_public", "6", "2020-12-18", source=PROVINCE, code="HY2012"),
    ]
    fix = [reversal(prov[5], "superseded by corrected record"), superseding(prov[5], "20.5")]
    city = [
        copy_on(prov[1], CITY),
        credit("industry_public", "8", "2020-09-09", source=CITY, code="SH2009"),
    ]
    result = evaluate(PROFILE, AS_OF, *prov, *fix, *city)
    total = rule(result, "total")
    assert (total.actual, total.shortfall) == (Decimal("174.5"), Decimal("5.5"))
    excluded = {
        v.entry.id: v.reason.value
        for v in result.entries
        if not v.counted and v.entry.kind != EntryKind.REVERSAL and v.reason
    }
    assert excluded == {
        city[0].id: "duplicate",
        city[1].id: "not_authoritative",
        prov[5].id: "superseded",
    }
    # What the transcript counts (every platform alike, corrections applied, twins once) less
    # what is not of record is what the check counts.
    transcript = sum((e.hours for e in prov if e is not prov[5]), Decimal(0)) + Decimal("20.5")
    transcript += city[1].hours
    assert transcript == Decimal("182.5")
    assert transcript - city[1].hours == total.actual


def test_every_exclusion_reason_has_a_chinese_and_an_english_label():
    for reason in ExclusionReason:
        label = EXCLUSION_REASONS[reason.value]
        assert label.zh
        assert label.en
