"""Builders of in-memory entries for evaluating profiles without a database."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from ledger.compliance.catalogue import get_profile
from ledger.compliance.facts import EntryFact
from ledger.compliance.results import Evaluation, RuleResult, evaluate_facts
from ledger.entries.chain import EntryKind

CITY = ("quzhou-city", "city")
OTHER_CITY = ("ningbo-city", "city")
PROVINCE = ("zj-industry", "province_industry")
_ids = itertools.count(1)


def credit(
    category: str,
    hours: str,
    on: str,
    *,
    source: tuple[str, str] = CITY,
    code: str | None = None,
    title: str | None = None,
) -> EntryFact:
    """A credit entry of ``hours`` completed on ``on`` (YYYY-MM-DD)."""
    n = next(_ids)
    return EntryFact(
        id=n,
        kind=EntryKind.CREDIT,
        source_id=source[0],
        source_kind=source[1],
        external_id=f"r{n}",
        category=category,
        hours=Decimal(hours),
        completed_on=dt.date.fromisoformat(on),
        course_code=code,
        course_title=title,
    )


def copy_on(entry: EntryFact, source: tuple[str, str]) -> EntryFact:
    """The same completion registered on another platform (same date, category, hours, course)."""
    n = next(_ids)
    return EntryFact(
        id=n,
        kind=EntryKind.CREDIT,
        source_id=source[0],
        source_kind=source[1],
        external_id=f"r{n}",
        category=entry.category,
        hours=entry.hours,
        completed_on=entry.completed_on,
        course_code=entry.course_code,
        course_title=entry.course_title,
    )


def reversal(of: EntryFact, reason: str = "registered in error") -> EntryFact:
    """A reversal cancelling ``of`` (same year, category and source; negative hours)."""
    n = next(_ids)
    return EntryFact(
        id=n,
        kind=EntryKind.REVERSAL,
        source_id=of.source_id,
        source_kind=of.source_kind,
        external_id=of.external_id,
        category=of.category,
        hours=-of.hours,
        completed_on=of.completed_on,
        course_code=of.course_code,
        course_title=of.course_title,
        reverses_id=of.id,
        reason=reason,
    )


def evaluate(
    profile_id: str, as_of: str, *entries: EntryFact, industry: bool | None = None
) -> Evaluation:
    """Evaluate the built-in profile for a person holding exactly ``entries``."""
    return evaluate_facts(
        get_profile(profile_id),
        dt.date.fromisoformat(as_of),
        "p_test",
        list(entries),
        industry_platform=industry,
    )


def rule(evaluation: Evaluation, rule_id: str) -> RuleResult:
    """The result of one rule, by id."""
    return next(r for r in evaluation.rules if r.rule.id == rule_id)


def verdict(evaluation: Evaluation, entry: EntryFact) -> tuple[bool, str | None, int | None]:
    """(counted, reason code, related entry id) of one entry."""
    v = next(v for v in evaluation.entries if v.entry.id == entry.id)
    return v.counted, (v.reason.value if v.reason else None), v.related_entry_id
