"""How the CLI writes for a person at a terminal: moments in Asia/Shanghai time to the second,
lists as tables under a header row. ``--json`` output keeps the machine forms (ISO 8601, UTC)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence

import click

from ledger.values.dates import BUSINESS_TZ


def human_time(moment: dt.datetime | None, missing: str = "-") -> str:
    """``2026-12-02 11:32:05 +08:00``: the moment in Asia/Shanghai, without microseconds.

    A naive moment is taken as UTC (the database's columns hold UTC).
    """
    if moment is None:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(BUSINESS_TZ)
    offset = local.isoformat()[-6:]  # "+08:00"; strftime's %z has no colon
    return f"{local:%Y-%m-%d %H:%M:%S} {offset}"


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A header row and the rows, in columns two spaces apart (no trailing spaces)."""
    widths = [max(display_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (c + " " * (w - display_width(c)) for c, w in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    return [line(header), *(line(r) for r in rows)]


def echo_table(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    """Print a table; ``empty`` (on stderr, so a pipe sees only rows) when there are none."""
    if not rows:
        click.echo(empty, err=True)
    for text in table(header, rows):
        click.echo(text)
