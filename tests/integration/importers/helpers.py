"""Seeding the fake platform, and checking that the ledger holds exactly what it holds."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from importers.mapping import PLATFORM_CATEGORY_LABELS, map_date
from ledger.entries.audit import verify_ledger
from ledger.entries.tables import Entry, Person, Record
from tests.factories import id_number
from tests.integration.importers.fake_platform import FakePlatform

SOURCE = "quzhou-pull"
LABELS = ["专业科目", "行业公需科目", "一般公需科目"]


def platform_record(n: int, **changes: Any) -> dict[str, Any]:
    """The n-th platform record, in the platform's own words (pinyin fields, Chinese labels)."""
    record: dict[str, Any] = {
        "sfzh": id_number(n % 7 + 1),
        "xm": ["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九"][n % 7],
        "kclb": LABELS[n % 3],
        # Platforms send hours as JSON numbers and as strings; both must arrive exactly.
        "xs": 1.5 if n % 2 else str(n % 9 + 1),
        "wcrq": f"2024{n % 12 + 1:02d}{n % 27 + 1:02d}" if n % 2 else f"2024-03-{n % 27 + 1:02d}",
        "kcmc": f"课程{n}",
    }
    record.update(changes)
    return record


def seed(fake: FakePlatform, count: int) -> None:
    for n in range(count):
        fake.put(f"JL{n:05d}", **platform_record(n))


def expected_ledger(
    fake: FakePlatform, skip: Collection[str] = ()
) -> dict[str, tuple[str, str, Decimal, dt.date]]:
    """What the ledger must hold for the platform: external id -> (ID, category, hours, date)."""
    out = {}
    for jlid, r in fake.records.items():
        if jlid in skip:
            continue
        out[jlid] = (
            r["sfzh"],
            PLATFORM_CATEGORY_LABELS[r["kclb"]],
            Decimal(str(r["xs"])).quantize(Decimal("0.1")),
            map_date(r["wcrq"]),
        )
    return out


def assert_ledger_matches(
    session: Session, fake: FakePlatform, *, source_id: str = SOURCE, skip: set[str] = frozenset()
) -> None:
    """The ledger holds each valid platform record exactly once, with the platform's content."""
    expected = expected_ledger(fake, skip)
    with session.begin():
        people = {pid: n for pid, n in session.execute(select(Person.id, Person.id_number))}
        records = {
            r.external_id: r
            for r in session.scalars(select(Record).where(Record.source_id == source_id))
        }
        entries = list(session.scalars(select(Entry).where(Entry.source_id == source_id)))
    by_id = {e.id: e for e in entries}
    assert set(records) == set(expected)
    net_hours: Counter[str] = Counter()
    live_credits: Counter[str] = Counter()
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id is not None}
    for e in entries:
        net_hours[e.external_id] += e.hours
        if e.kind == "credit" and e.id not in reversed_ids:
            live_credits[e.external_id] += 1
    for jlid, (sfzh, category, hours, day) in expected.items():
        current = by_id[records[jlid].entry_id]
        assert records[jlid].status == "active"
        assert (
            people[current.person_id],
            current.category,
            current.hours,
            current.completed_on,
        ) == (
            sfzh,
            category,
            hours,
            day,
        ), jlid
        assert live_credits[jlid] == 1, jlid
        assert net_hours[jlid] == hours, jlid
    assert verify_ledger(session).ok
