"""Properties of the evaluator, over generated ledgers (in memory)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.compliance.catalogue import catalogue
from ledger.compliance.facts import BalanceFact, EntryFact, resolve_frame
from ledger.compliance.judgement import judge_entries, sums_from_balances
from ledger.compliance.profile import RuleKind
from ledger.compliance.results import conclude
from ledger.entries.chain import EntryKind

PROFILES = sorted(p.id for p in catalogue().all())
SOURCES = [("quzhou-city", "city"), ("ningbo-city", "city"), ("zj-industry", "province_industry")]
CATEGORIES = ["specialised", "industry_public", "general_public"]


@st.composite
def ledgers(draw: st.DrawFn) -> list[EntryFact]:
    """Credits over 2018-2022 on three platforms, with some re-registrations and reversals."""
    entries: list[EntryFact] = []
    for n in range(draw(st.integers(0, 25))):
        source = draw(st.sampled_from(SOURCES))
        entries.append(
            EntryFact(
                id=len(entries) + 1,
                kind=EntryKind.CREDIT,
                source_id=source[0],
                source_kind=source[1],
                external_id=f"r{n}",
                category=draw(st.sampled_from(CATEGORIES)),
                hours=Decimal(draw(st.integers(1, 400))) / 10,
                completed_on=dt.date(2018, 1, 1) + dt.timedelta(days=draw(st.integers(0, 1825))),
                course_code=draw(st.sampled_from([None, "A", "B"])),
            )
        )
    for original in draw(st.lists(st.sampled_from(entries), unique=True)) if entries else []:
        entries.append(_copy(original, len(entries) + 1, draw(st.sampled_from(SOURCES))))
    credits = [e for e in entries if e.kind == EntryKind.CREDIT]
    for target in draw(st.lists(st.sampled_from(credits), unique=True)) if credits else []:
        entries.append(_reversal(target, len(entries) + 1))
    return entries


def _copy(e: EntryFact, new_id: int, source: tuple[str, str]) -> EntryFact:
    return e._replace(
        id=new_id, source_id=source[0], source_kind=source[1], external_id=f"c{new_id}"
    )


def _reversal(e: EntryFact, new_id: int) -> EntryFact:
    return e._replace(
        id=new_id, kind=EntryKind.REVERSAL, hours=-e.hours, reverses_id=e.id, reason="wrong"
    )


def _balances(entries: list[EntryFact]) -> list[BalanceFact]:
    sums: dict[tuple[int, str, str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        sums[(e.year, e.category, e.source_id, e.source_kind)] += e.hours
    return [BalanceFact(y, c, s, k, h) for (y, c, s, k), h in sums.items()]


as_of_dates = st.dates(dt.date(2019, 1, 1), dt.date(2023, 3, 1))
industry_answers = st.sampled_from([None, True, False])


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(PROFILES), ledgers(), as_of_dates, industry_answers)
def test_evaluation_from_balances_equals_evaluation_from_entries(
    profile_id, entries, as_of, industry
):
    profile = catalogue().get(profile_id)
    frame = resolve_frame(profile, as_of)
    from_entries = judge_entries(profile, frame, entries, requested_industry=industry)
    from_balances = sums_from_balances(
        profile,
        frame,
        [b for b in _balances(entries) if b.year in frame.window],
        lambda years: [e for e in entries if e.year in years],
        requested_industry=industry,
    )
    a = conclude(profile, frame, "p", from_entries, explain=False)
    b = conclude(profile, frame, "p", from_balances, explain=False)
    assert a.outcome() == b.outcome()


MINIMUM_ONLY = [
    p.id for p in catalogue().all() if all(r.kind == RuleKind.MINIMUM for r in p.rules)
] + ["cixi-2021-intermediate"]  # informational rules never fail, so it qualifies too


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(MINIMUM_ONLY),
    ledgers(),
    as_of_dates,
    st.sampled_from(SOURCES[:2]),
    st.sampled_from(CATEGORIES),
    st.integers(1, 400),
    st.integers(0, 1825),
)
def test_adding_a_credit_never_makes_a_compliant_person_non_compliant(
    profile_id, entries, as_of, source, category, tenths, day
):
    profile = catalogue().get(profile_id)
    frame = resolve_frame(profile, as_of)
    # The new credit is from a city platform: a first province credit would not add hours but
    # move the person to the province platform (R6), a change of which hours are of record.
    before = conclude(profile, frame, "p", judge_entries(profile, frame, entries), explain=False)
    extra = EntryFact(
        id=len(entries) + 1,
        kind=EntryKind.CREDIT,
        source_id=source[0],
        source_kind=source[1],
        external_id="new",
        category=category,
        hours=Decimal(tenths) / 10,
        completed_on=dt.date(2018, 1, 1) + dt.timedelta(days=day),
    )
    after = conclude(
        profile,
        frame,
        "p",
        judge_entries(profile, frame, [*entries, extra]),
        explain=False,
    )
    if before.compliant:
        assert after.compliant
    for year in frame.window:
        for cat in CATEGORIES:
            assert after.totals[year][cat] >= before.totals[year][cat]


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(PROFILES), ledgers(), as_of_dates, industry_answers, st.data())
def test_reversing_an_entry_never_raises_a_total(profile_id, entries, as_of, industry, data):
    reversed_ids = {e.reverses_id for e in entries}
    open_credits = [e for e in entries if e.kind == EntryKind.CREDIT and e.id not in reversed_ids]
    if not open_credits:
        return
    target = data.draw(st.sampled_from(open_credits))
    profile = catalogue().get(profile_id)
    frame = resolve_frame(profile, as_of)
    # Fix the platform of record as it was before, so the comparison is like for like.
    before_j = judge_entries(profile, frame, entries, requested_industry=industry)
    after_j = judge_entries(
        profile,
        frame,
        [*entries, _reversal(target, len(entries) + 1)],
        requested_industry=before_j.industry,
    )
    before = conclude(profile, frame, "p", before_j, explain=False)
    after = conclude(profile, frame, "p", after_j, explain=False)
    for year in frame.window:
        for cat in CATEGORIES:
            assert after.totals[year][cat] <= before.totals[year][cat]
    assert after.window_totals["total"] <= before.window_totals["total"]
