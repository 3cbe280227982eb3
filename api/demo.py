"""The demo: a person with realistic records from two platforms, and a development signing key.

``cehours demo`` loads it (:func:`load_demo`, idempotent); the development identity provider's
sign-in page offers to sign in as the demo person.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ledger.attestations import key_encryption, signing_keys
from ledger.entries.append import append_records
from ledger.entries.reversal import reverse_record
from ledger.entries.sources import add_source
from ledger.errors import ConflictError, ReversalError
from ledger.values.id_numbers import make_id_number

CITY = "quzhou-city"
PROVINCE = "zj-industry"
DEMO_ID_NUMBER = make_id_number("330802", dt.date(1988, 6, 15), 123)
DEMO_NAME = "王晓明"
OTHER_ID_NUMBER = make_id_number("330282", dt.date(1992, 3, 8), 456)
OTHER_NAME = "陈静"

# The demo person works in a field (工业和信息化) whose provincial department manages CE hours on
# its own platform, so under R6 that platform's hours prevail. It holds most of their courses;
# the city platform re-registers one of them (counted once) and holds two of its own, which the
# compliance view shows as not of record for this person. Checked against 2019-2020
# (quzhou-2020-intermediate) the page explains 174.5 of 180: a course counted once, one not of
# record, one corrected and one reversed.
# (external id, category, hours, completed on, course code, course title, provider)
MAIN_COURSES: list[tuple[str, str, str, str, str, str, str]] = [
    (
        "ZJ-2019-001",
        "specialised",
        "40",
        "2019-04-12",
        "ZY1901",
        "建筑结构设计新规范解读",
        "衢州市建设学院",
    ),
    ("ZJ-2019-002", "specialised", "24", "2019-09-20", "ZY1907", "BIM技术应用", "衢州市建设学院"),
    (
        "ZJ-2019-003",
        "general_public",
        "18",
        "2019-06-03",
        "GX1902",
        "专业技术人员职业道德",
        "衢州市人社局",
    ),
    (
        "ZJ-2019-004",
        "industry_public",
        "12",
        "2019-11-08",
        "HY1911",
        "建筑行业安全生产法规",
        "衢州市住建局",
    ),
    (
        "ZJ-2020-001",
        "specialised",
        "36",
        "2020-05-15",
        "ZY2003",
        "装配式建筑施工技术",
        "衢州市建设学院",
    ),
    (
        "ZJ-2020-002",
        "specialised",
        "24.5",
        "2020-10-22",
        "ZY2010",
        "绿色建筑评价标准",
        "衢州市建设学院",
    ),
    ("ZJ-2020-003", "general_public", "18", "2020-07-01", "GX2005", "知识产权保护", "衢州市人社局"),
    ("ZJ-2020-004", "industry_public", "6", "2020-12-18", "HY2012", "工程质量管理", "衢州市住建局"),
    (
        "ZJ-2021-001",
        "specialised",
        "48",
        "2021-03-30",
        "ZY2102",
        "城市更新与既有建筑改造",
        "衢州市建设学院",
    ),
    (
        "ZJ-2021-002",
        "general_public",
        "12",
        "2021-08-16",
        "GX2108",
        "数字经济与数字化转型",
        "衢州市人社局",
    ),
    (
        "ZJ-2021-003",
        "industry_public",
        "12",
        "2021-10-11",
        "HY2110",
        "建筑节能政策",
        "衢州市住建局",
    ),
    ("ZJ-2024-001", "specialised", "30", "2024-04-18", "ZY2404", "智能建造技术", "衢州市建设学院"),
    (
        "ZJ-2024-002",
        "general_public",
        "15.5",
        "2024-06-21",
        "GX2406",
        "人工智能通识",
        "衢州市人社局",
    ),
    (
        "ZJ-2025-001",
        "specialised",
        "32",
        "2025-03-14",
        "ZY2503",
        "建筑碳排放计算",
        "衢州市建设学院",
    ),
    ("ZJ-2025-002", "general_public", "18", "2025-05-09", "GX2505", "法治素养提升", "衢州市人社局"),
    (
        "ZJ-2025-003",
        "industry_public",
        "10",
        "2025-09-26",
        "HY2509",
        "建设工程消防审验",
        "衢州市住建局",
    ),
    (
        "ZJ-2025-004",
        "specialised",
        "12",
        "2025-11-05",
        "ZY2511",
        "工程项目管理实务",
        "衢州市建设学院",
    ),
    (
        "ZJ-2026-001",
        "specialised",
        "36",
        "2026-03-20",
        "ZY2603",
        "建筑机器人应用",
        "衢州市建设学院",
    ),
    ("ZJ-2026-002", "general_public", "12", "2026-05-28", "GX2605", "保密知识教育", "衢州市人社局"),
    (
        "ZJ-2026-003",
        "industry_public",
        "8.5",
        "2026-09-15",
        "HY2609",
        "城市安全韧性",
        "衢州市住建局",
    ),
    # Reversed below: the compliance view of 2019-2020 lists it as reversed.
    ("ZJ-2020-005", "general_public", "6", "2020-11-20", "GX2011", "安全生产知识", "衢州市人社局"),
]
# What the city platform holds for the demo person.
CITY_COURSES: list[tuple[str, str, str, str, str, str, str]] = [
    ("QZ-88101", "specialised", "24", "2019-09-20", "ZY1907", "BIM技术应用", "衢州市建设学院"),
    (
        "QZ-88102",
        "industry_public",
        "8",
        "2020-09-09",
        "SH2009",
        "工业和信息化领域政策解读",
        "浙江省经信厅",
    ),
    ("QZ-88103", "specialised", "20", "2025-07-17", "SH2507", "工业互联网平台应用", "浙江省经信厅"),
]


def _record(row: tuple[str, ...], id_number: str, name: str) -> dict[str, Any]:
    ext, category, hours, day, code, title, provider = row
    return {
        "external_id": ext,
        "id_number": id_number,
        "name": name,
        "category": category,
        "hours": hours,
        "completed_on": day,
        "course": {"code": code, "title": title, "provider": provider},
    }


def load_demo(session: Session, var: Path) -> list[str]:
    """Load the demo data, with a signing key sealed by the development key-encryption key in
    ``var``; returns what was done, one line each. Safe to run again."""
    done: list[str] = []
    for source_id, kind, region, name in (
        (CITY, "city", "330800", "衢州市专业技术人员继续教育学习平台"),
        (PROVINCE, "province_industry", "330000", "浙江省工业和信息化领域继续教育平台"),
    ):
        try:
            add_source(session, source_id, kind=kind, region_code=region, display_name=name)
            done.append(f"source {source_id} added")
        except ConflictError:
            pass
    main = [_record(r, DEMO_ID_NUMBER, DEMO_NAME) for r in MAIN_COURSES]
    results = append_records(session, PROVINCE, main, actor="demo")
    city = [_record(r, DEMO_ID_NUMBER, DEMO_NAME) for r in CITY_COURSES]
    # A second person, managed by the city platform alone.
    city.append(_record(MAIN_COURSES[0], OTHER_ID_NUMBER, OTHER_NAME) | {"external_id": "QZ-X-1"})
    results += append_records(session, CITY, city, actor="demo")
    created = sum(r.status == "created" for r in results)
    done.append(f"{created} demo records created, {len(results) - created} already held")
    # A correction (hours were registered wrongly) and a cancelled course.
    fixed = _record(MAIN_COURSES[5], DEMO_ID_NUMBER, DEMO_NAME) | {"hours": "20.5"}
    (corr,) = append_records(session, PROVINCE, [fixed], actor="demo", supersede=True)
    if corr.status == "superseded":
        done.append(f"{fixed['external_id']} superseded (hours corrected to 20.5)")
    try:
        reverse_record(
            session, PROVINCE, "ZJ-2024-002", reason="课程未完成考核(演示)", actor="demo"
        )
        done.append("ZJ-2024-002 reversed")
    except ReversalError:
        pass
    try:
        reverse_record(
            session, PROVINCE, "ZJ-2020-005", reason="未参加结业考试,学时作废(演示)", actor="demo"
        )
        done.append("ZJ-2020-005 reversed")
    except ReversalError:
        pass
    key = signing_keys.ensure_active_key(
        session, key_encryption.load_kek(dev_dir=var), actor="demo"
    )
    done.append(f"signing key {key.kid[:12]}... active")
    return done
