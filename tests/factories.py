"""Test data: valid ID numbers, records and sources."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ledger.entries.sources import add_source
from ledger.values.id_numbers import make_id_number

QUZHOU = "330802"
CIXI = "330282"


def id_number(n: int, region: str = QUZHOU) -> str:
    """The n-th valid test ID number (distinct for n < 365,000)."""
    born = dt.date(1970, 1, 1) + dt.timedelta(days=n // 1000)
    return make_id_number(region, born, n % 1000)


def record(
    external_id: str,
    *,
    person: int = 1,
    name: str = "张三",
    category: str = "specialised",
    hours: str = "10",
    completed_on: str = "2024-05-01",
    **extra: Any,
) -> dict[str, Any]:
    """A valid record as a platform would post it."""
    return {
        "external_id": external_id,
        "id_number": id_number(person),
        "name": name,
        "category": category,
        "hours": hours,
        "completed_on": completed_on,
        **extra,
    }


def city_source(session: Session, source_id: str = "quzhou-city") -> str:
    add_source(
        session, source_id, kind="city", region_code=QUZHOU, display_name="衢州市继续教育平台"
    )
    return source_id


def province_source(session: Session, source_id: str = "zj-industry") -> str:
    add_source(
        session,
        source_id,
        kind="province_industry",
        region_code="330000",
        display_name="浙江省工业和信息化领域继续教育平台",
    )
    return source_id
