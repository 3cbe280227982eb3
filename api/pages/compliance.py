"""Checking one's hours against a profile: each rule passed or failed, with the shortfall, every
entry that did not count (or counted once) and why, and a picture of the years against the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Response, request

from api.db import db_session
from api.errors import Problem
from api.pages import chart
from api.pages.base import as_of_date, bp, html, latest_profiles, signed_in
from ledger.compliance.catalogue import catalogue
from ledger.compliance.evaluation import evaluate
from ledger.compliance.judgement import EntryVerdict, ExclusionReason
from ledger.compliance.results import Evaluation
from ledger.compliance.transcripts import Transcript, TranscriptEntry, build_transcript
from ledger.entries.chain import EntryKind
from ledger.errors import UnknownProfileError
from ledger.values.categories import CATEGORY_LABELS_ZH, Category
from ledger.values.hours import format_hours
from ledger.values.reasons import (
    EXCLUSION_REASONS,
    SERVICE_REASON_LABELS,
    Label,
    service_reason_code,
    source_kind_label,
)


@dataclass(frozen=True, slots=True)
class Explained:
    """One line of the explanation: an entry that did not count or counted once, or a year's
    hours a cap held back (``entry_id`` None)."""

    code: str
    label: Label
    day: str
    course: str
    course_code: str | None
    platform: str
    category: str
    hours: str
    why: str  # the circumstances, in Chinese
    rules: tuple[str, ...]  # the Chinese labels of the rules concerned
    entry_id: int | None = None


@bp.get("/me/compliance")
def compliance() -> Response:
    """Pick a profile and see each rule pass or fail, with the shortfall, and why."""
    person = signed_in()
    chosen = request.args.get("profile") or ""
    as_of_text = request.args.get("as_of") or ""
    result = None
    profile = None
    context: dict[str, Any] = {}
    if chosen:
        try:
            profile = catalogue().get(chosen)
        except UnknownProfileError:
            raise Problem(404, "没有这个规则。No such profile.") from None
        if person.person_id is not None:
            session = db_session()
            result = evaluate(session, person.person_id, profile, as_of_date(as_of_text))
            context = _explain(result, build_transcript(session, person.person_id))
    return html(
        "pages/compliance.html",
        person=person,
        profiles=latest_profiles(),
        chosen=chosen,
        profile=profile,
        as_of=as_of_text,
        result=result,
        of_record=source_kind_label(result.hours_of_record).zh if result else "",
        **context,
    )


def _explain(result: Evaluation, transcript: Transcript) -> dict[str, Any]:
    """What the page shows beyond the rules: the explanation and the chart."""
    entries = {e.entry_id: e for e in transcript.entries}
    rule_labels = {r.rule.id: r.rule.label_zh or r.rule.label_en or r.rule.id for r in result.rules}
    lines = [
        _entry_line(v, entries, result, rule_labels)
        for v in result.entries
        if not v.counted and v.entry.kind != EntryKind.REVERSAL
    ]
    lines += _capped_lines(result, rule_labels)
    outside = ExclusionReason.OUTSIDE_WINDOW.value
    in_window = sorted((x for x in lines if x.code != outside), key=lambda x: x.day)
    # The transcript counts every platform alike (R6 is the profile's): the difference between
    # its years and this check's is what the explanation accounts for.
    transcript_total = sum(
        (transcript.year_total(y) for y in result.window if y in transcript.totals), Decimal(0)
    )
    counted = result.window_totals["total"]
    return {
        "explained": in_window,
        "outside": sorted((x for x in lines if x.code == outside), key=lambda x: x.day),
        "transcript_total": format_hours(transcript_total),
        "counted_total": format_hours(counted),
        "difference": format_hours(transcript_total - counted)
        if transcript_total != counted
        else None,
        "panels": chart.chart_panels(result),
        "legend": chart.legend(),
        "width": chart.WIDTH,
        "bar_x": chart.BAR_X,
        "bar_width": chart.BAR_WIDTH,
        "bar_h": chart.BAR,
    }


def _platform(entry_id: int | None, kind: str, entries: dict[int, TranscriptEntry]) -> str:
    held = entries.get(entry_id) if entry_id is not None else None
    return held.source_name if held is not None else source_kind_label(kind).zh


def _entry_line(
    v: EntryVerdict,
    entries: dict[int, TranscriptEntry],
    result: Evaluation,
    rule_labels: dict[str, str],
) -> Explained:
    e = v.entry
    assert v.reason is not None
    return Explained(
        code=v.reason.value,
        label=EXCLUSION_REASONS[v.reason.value],
        day=e.completed_on.isoformat(),
        course=e.course_title or e.external_id,
        course_code=e.course_code,
        platform=_platform(e.id, e.source_kind, entries),
        category=CATEGORY_LABELS_ZH[Category(e.category)],
        hours=format_hours(e.hours),
        why=_why(v, entries, result),
        rules=tuple(rule_labels[r] for r in v.rules),
        entry_id=e.id,
    )


def _why(v: EntryVerdict, entries: dict[int, TranscriptEntry], result: Evaluation) -> str:
    """The circumstances of an exclusion, in Chinese, from the verdict's facts (the ledger's
    ``detail`` says the same in English for the API)."""
    e, related = v.entry, v.related_entry_id
    window = "、".join(str(y) for y in result.window)
    match v.reason:
        case ExclusionReason.NOT_AUTHORITATIVE:
            return (
                f"本项要求以{source_kind_label(result.hours_of_record).zh}登记的学时为准,"
                f"此记录登记在{source_kind_label(e.source_kind).zh}"
            )
        case ExclusionReason.DUPLICATE:
            where = _platform(related, "", entries)
            return f"同一课程已由{where}登记(记录 #{related}),在那里计入一次"
        case ExclusionReason.SUPERSEDED:
            new = entries.get(related) if related is not None else None
            hours = f",更正为 {format_hours(new.hours)} 学时" if new is not None else ""
            return f"平台报送了更正后的记录 #{related}{hours}"
        case ExclusionReason.REVERSED:
            return f"由记录 #{related} 撤销,原因:{_reversal_reason(e.reason, related, entries)}"
        case ExclusionReason.OUTSIDE_WINDOW:
            return f"{e.completed_on.year} 年完成,统计年度为 {window}"
        case ExclusionReason.AFTER_CUTOFF:
            last = result.last_counted_day.isoformat()
            return f"{e.completed_on.isoformat()} 完成,只计入 {last} 及以前完成的学时"
    return ""


def _reversal_reason(
    own: str | None, reversal_id: int | None, entries: dict[int, TranscriptEntry]
) -> str:
    """Why the credit was reversed: the words of whoever reversed it, or, for a reversal the
    service wrote itself, its Chinese label."""
    held = entries.get(reversal_id) if reversal_id is not None else None
    text = held.reason if held is not None else own
    code = service_reason_code(text)
    if code is not None:
        return SERVICE_REASON_LABELS[code].zh
    return text or "未说明"


def _capped_lines(result: Evaluation, rule_labels: dict[str, str]) -> list[Explained]:
    """A year's hours of a category above the profile's cap (not one entry's)."""
    by_category = rules_by_category_of(result)
    lines = []
    for year, caps in sorted(result.capped.items()):
        for category, hours in caps.items():
            kept = result.totals[year][category]
            lines.append(
                Explained(
                    code="capped",
                    label=EXCLUSION_REASONS["capped"],
                    day=str(year),
                    course=f"{year} 年{CATEGORY_LABELS_ZH[Category(category)]}",
                    course_code=None,
                    platform="—",
                    category=CATEGORY_LABELS_ZH[Category(category)],
                    hours=format_hours(hours),
                    why=f"每年最多计入 {format_hours(kept)} 学时,超出 {format_hours(hours)} 学时",
                    rules=tuple(rule_labels[r] for r in by_category.get(category, ())),
                )
            )
    return lines


def rules_by_category_of(result: Evaluation) -> dict[str, tuple[str, ...]]:
    """Category -> the evaluated rules whose figures take it."""
    return {
        c.value: tuple(r.rule.id for r in result.rules if c in r.rule.categories) for c in Category
    }
