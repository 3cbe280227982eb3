"""The compliance page's picture: per rule, each year's counted hours by category against the
rule's line, as geometry for an inline SVG (``pages/_chart.html``; no script, no CDN).

One panel per rule. A per-year rule has a bar per window year and its line across every bar; a
window rule has a bar per year and a bar for the window's total, the line across the total only
(180 over two years is not a yearly figure). An informational rule (R8's bonus points) has bars
and no line. Bars are horizontal, so that a panel reads as well 390 px wide as on a desktop; the
drawing is in viewBox units and scales to the width it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ledger.compliance.profile import Per, RuleKind
from ledger.compliance.results import Evaluation, RuleResult
from ledger.values.categories import CATEGORY_LABELS_ZH, Category
from ledger.values.hours import format_hours

WIDTH = 340
BAR_X = 72  # left of the bars: the year labels sit before it
BAR_WIDTH = 214  # the longest bar or the line, whichever is further right, ends here
ROW = 26
BAR = 16
TOP = 18  # room above the first bar for the line's label
COLOURS = {
    Category.SPECIALISED.value: "#1f4e8c",
    Category.INDUSTRY_PUBLIC.value: "#2e8b4f",
    Category.GENERAL_PUBLIC.value: "#c77c00",
}


@dataclass(frozen=True, slots=True)
class Segment:
    """One category's part of a bar."""

    category: str
    label: str  # the category's Chinese label
    hours: str
    x: Decimal
    width: Decimal
    colour: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One year's (or the window's) bar."""

    label: str  # "2019", or "合计" for a window rule's total
    y: float
    total: str
    segments: tuple[Segment, ...]
    met: bool | None  # the line is reached (None: no line for this bar)


@dataclass(frozen=True, slots=True)
class Panel:
    """One rule's drawing."""

    rule_id: str
    title: str  # the rule's Chinese label
    summary: str  # what the drawing shows, in words (the SVG's <title>)
    height: float
    bars: tuple[Bar, ...]
    line_x: Decimal | None
    line_top: float
    line_bottom: float
    line_label: str | None


# Drawing units to a hundredth: finer than any screen shows, and hours never become floats.
_PLACES = Decimal("0.01")


def _x(hours: Decimal, top: Decimal) -> Decimal:
    """Where ``hours`` ends on a scale whose right end (``BAR_X + BAR_WIDTH``) is ``top``."""
    if top <= 0:
        return Decimal(BAR_X)
    return (BAR_X + hours / top * BAR_WIDTH).quantize(_PLACES)


def _bar(label: str, y: float, hours: dict[str, Decimal], top: Decimal, met: bool | None) -> Bar:
    segments = []
    start = Decimal(0)
    for category, value in hours.items():
        if value <= 0:
            continue
        x0, x1 = _x(start, top), _x(start + value, top)
        segments.append(
            Segment(
                category,
                CATEGORY_LABELS_ZH[Category(category)],
                format_hours(value),
                x0,
                x1 - x0,
                COLOURS[category],
            )
        )
        start += value
    return Bar(label, y, format_hours(start), tuple(segments), met)


def _panel(result: Evaluation, rule: RuleResult) -> Panel:
    names = [c.value for c in rule.rule.categories]
    years = list(result.window)
    by_year = {y: {c: result.totals[y][c] for c in names} for y in years}
    window_bar = rule.rule.per == Per.WINDOW and len(years) > 1
    total = {c: sum((by_year[y][c] for y in years), Decimal(0)) for c in names}
    rows = [*by_year.values(), *([total] if window_bar else [])]
    required = rule.required if rule.rule.kind == RuleKind.MINIMUM else None
    top = max([sum(r.values(), Decimal(0)) for r in rows] + [required or Decimal(0)])
    bars = []
    for i, year in enumerate(years):
        met = None
        if required is not None and not window_bar:
            met = sum(by_year[year].values(), Decimal(0)) >= required
        bars.append(_bar(str(year), TOP + i * ROW, by_year[year], top, met))
    if window_bar:
        met = None if required is None else sum(total.values(), Decimal(0)) >= required
        bars.append(_bar("合计", TOP + len(years) * ROW, total, top, met))
    height = TOP + len(bars) * ROW + 4
    title = rule.rule.label_zh or rule.rule.label_en or rule.rule.id
    summary = _summary(title, rule, required, bars, window_bar)
    first_line_row = bars[-1].y if window_bar else bars[0].y
    return Panel(
        rule_id=rule.rule.id,
        title=title,
        summary=summary,
        height=height,
        bars=tuple(bars),
        line_x=None if required is None else _x(required, top),
        line_top=first_line_row - 5,
        line_bottom=bars[-1].y + BAR + 5,
        line_label=None if required is None else format_hours(required),
    )


def _summary(
    title: str, rule: RuleResult, required: Decimal | None, bars: list[Bar], window_bar: bool
) -> str:
    """What a panel shows, in words (its SVG's <title>)."""
    years = "、".join(f"{b.label} 年 {b.total}" for b in (bars[:-1] if window_bar else bars))
    if window_bar:
        years += f",合计 {bars[-1].total}"
    if required is None:
        return f"{title}(不设要求):{years} 学时"
    each = "每年" if rule.rule.per == Per.YEAR else "合计"
    short = f",差 {format_hours(rule.shortfall)} 学时" if rule.shortfall > 0 else ",已达到"
    return f"{title}:{each}要求 {format_hours(required)} 学时,实际 {years} 学时{short}"


def chart_panels(result: Evaluation) -> list[Panel]:
    """One panel per rule of the evaluation, in the profile's order."""
    return [_panel(result, rule) for rule in result.rules]


def legend() -> list[tuple[str, str, str]]:
    """(category, Chinese label, colour) for the key under the panels."""
    return [(c.value, CATEGORY_LABELS_ZH[c], COLOURS[c.value]) for c in Category]
