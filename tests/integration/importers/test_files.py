"""Importing platform exports: CSV in UTF-8 and GB18030 and XLSX, with Chinese headers, through
the standard headers, a source's mapping or a mapping file."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from importers.errors import ConfigError, FileFormatError
from importers.files import detect_encoding
from importers.runner import import_file
from ledger.entries.audit import verify_ledger
from ledger.entries.sources import set_source_config
from ledger.entries.tables import Entry, Record
from ledger.sync.quarantine import list_quarantine
from tests.factories import city_source, id_number

HEADERS = ["记录编号", "身份证号", "姓名", "课程类别", "学时", "完成日期", "课程名称"]


def rows(count: int = 5) -> list[list[object]]:
    labels = ["专业科目", "行业公需科目", "一般公需科目"]
    return [
        [
            f"DC{n:04d}",
            id_number(n + 1),
            "李四",
            labels[n % 3],
            "1.5",
            "2024-06-0" + str(n + 1),
            f"课{n}",
        ]
        for n in range(count)
    ]


def write_csv(
    path: Path, data: list[list[object]], encoding: str, headers: list[str] = HEADERS
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(data)
    return path


def held(session: Session) -> dict[str, tuple[str, Decimal, dt.date]]:
    with session.begin():
        current = session.execute(
            select(Record.external_id, Entry.category, Entry.hours, Entry.completed_on).join(
                Entry, Entry.id == Record.entry_id
            )
        )
        return {ext: (cat, hours, day) for ext, cat, hours, day in current}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_export_in_either_encoding_is_imported(
    sqlite_session: Session, tmp_path: Path, encoding: str
) -> None:
    session = sqlite_session
    source = city_source(session)
    path = write_csv(tmp_path / "export.csv", rows(), encoding)

    run = import_file(session, source, path)

    assert (run.status, run.created, run.rejected) == ("succeeded", 5, 0)
    assert held(session)["DC0001"] == ("industry_public", Decimal("1.5"), dt.date(2024, 6, 2))
    assert verify_ledger(session).ok


def test_gb18030_is_detected_and_utf8_is_not_mistaken_for_it(tmp_path: Path) -> None:
    gb = write_csv(tmp_path / "gb.csv", rows(), "gb18030")
    utf = write_csv(tmp_path / "utf.csv", rows(), "utf-8")

    assert (detect_encoding(gb), detect_encoding(utf)) == ("gb18030", "utf-8-sig")


def test_an_xlsx_export_with_dates_and_numbers_in_cells_is_imported(
    sqlite_session: Session, tmp_path: Path
) -> None:
    session = sqlite_session
    source = city_source(session)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append(["X1", id_number(1), "王五", "专业科目", 2.5, dt.datetime(2024, 7, 1), "课"])
    sheet.append(["X2", id_number(2), "赵六", "一般公需科目", 3, dt.date(2024, 7, 2), None])
    sheet.append([None] * 7)
    path = tmp_path / "export.xlsx"
    book.save(path)

    run = import_file(session, source, path)

    assert (run.created, run.rejected) == (2, 0)
    assert held(session) == {
        "X1": ("specialised", Decimal("2.5"), dt.date(2024, 7, 1)),
        "X2": ("general_public", Decimal("3.0"), dt.date(2024, 7, 2)),
    }


def test_importing_the_same_export_twice_appends_nothing(
    sqlite_session: Session, tmp_path: Path
) -> None:
    source = city_source(sqlite_session)
    path = write_csv(tmp_path / "export.csv", rows(), "gb18030")
    import_file(sqlite_session, source, path)

    again = import_file(sqlite_session, source, path)

    assert (again.created, again.duplicates) == (0, 5)


def test_a_corrected_export_supersedes_the_changed_rows(
    sqlite_session: Session, tmp_path: Path
) -> None:
    source = city_source(sqlite_session)
    data = rows()
    import_file(sqlite_session, source, write_csv(tmp_path / "a.csv", data, "utf-8"))
    data[2][4] = "4"

    run = import_file(sqlite_session, source, write_csv(tmp_path / "b.csv", data, "utf-8"))

    assert (run.superseded, run.duplicates) == (1, 4)
    assert held(sqlite_session)["DC0002"][1] == Decimal("4.0")


def test_bad_rows_are_quarantined_and_the_good_ones_kept(
    sqlite_session: Session, tmp_path: Path
) -> None:
    source = city_source(sqlite_session)
    data = rows()
    data[1][4] = "1.25"
    data[3][5] = "明天"
    path = write_csv(tmp_path / "export.csv", data, "gb18030")

    run = import_file(sqlite_session, source, path)

    assert (run.created, run.rejected) == (3, 2)
    reasons = {q.record_key: q.reason for q in list_quarantine(sqlite_session, source)}
    assert set(reasons) == {"DC0001", "DC0003"}
    assert "hours" in reasons["DC0001"]
    assert "completed_on" in reasons["DC0003"]


def test_a_mapping_file_maps_unusual_headers_and_labels(
    sqlite_session: Session, tmp_path: Path
) -> None:
    source = city_source(sqlite_session)
    headers = ["流水号", "证件号", "学员", "类型", "课时", "日期", "课程名称"]
    data = rows(2)
    data[0][3] = "专业"
    path = write_csv(tmp_path / "odd.csv", data, "utf-8", headers)
    mapping = {
        "fields": {
            "external_id": "流水号",
            "id_number": "证件号",
            "name": "学员",
            "category": "类型",
            "hours": "课时",
            "completed_on": "日期",
        },
        "categories": {"专业": "specialised"},
    }

    run = import_file(sqlite_session, source, path, mapping=mapping)

    assert (run.created, run.rejected) == (2, 0)
    assert held(sqlite_session)["DC0000"][0] == "specialised"


def test_the_sources_file_mapping_is_used_when_none_is_given(
    sqlite_session: Session, tmp_path: Path
) -> None:
    source = city_source(sqlite_session)
    set_source_config(
        sqlite_session, source, {"file_mapping": {"fields": {"external_id": "流水号"}}}
    )
    headers = ["流水号", *HEADERS[1:]]
    path = write_csv(tmp_path / "export.csv", rows(2), "utf-8", headers)

    run = import_file(sqlite_session, source, path)

    assert run.created == 2


def test_a_mapping_naming_an_unknown_field_is_refused(
    sqlite_session: Session, tmp_path: Path
) -> None:
    source = city_source(sqlite_session)
    path = write_csv(tmp_path / "export.csv", rows(1), "utf-8")

    with pytest.raises(ConfigError, match="sfzh"):
        import_file(sqlite_session, source, path, mapping={"fields": {"sfzh": "身份证号"}})


def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(
    sqlite_session: Session, tmp_path: Path
) -> None:
    source = city_source(sqlite_session)
    path = tmp_path / "export.pdf"
    path.write_bytes(b"%PDF-1.4")

    with pytest.raises(FileFormatError):
        import_file(sqlite_session, source, path)
