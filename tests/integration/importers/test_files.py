"""Importing platform exports: CSV in UTF-8 and GB18030 and XLSX, with Chinese headers, through
the standard headers, a source's mapping or a mapping file."""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cli import main
from importers.errors import ConfigError, FileFormatError
from importers.files import detect_encoding
from importers.runner import import_file
from ledger.entries.audit import verify_ledger
from ledger.entries.sources import set_source_config
from ledger.entries.tables import Entry, Record
from ledger.sync.quarantine import list_quarantine
from ledger.sync.tables import SyncRun
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


# ---- files wrong as a whole: one line naming the problem, nothing imported ----------------


def nothing_imported(session: Session) -> bool:
    with session.begin():
        return session.scalar(select(func.count()).select_from(Entry)) == 0


def _refused(session: Session, path: Path) -> str:
    source = city_source(session)
    with pytest.raises(FileFormatError) as caught:
        import_file(session, source, path)
    message = str(caught.value)
    assert "\n" not in message
    assert nothing_imported(session)
    with session.begin():
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 0
    return message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_export_is_refused_naming_its_encoding(
    sqlite_session: Session, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path / "export.csv", rows(), encoding)
    message = _refused(sqlite_session, path)
    assert message.startswith("export.csv: the file is UTF-")
    assert "UTF-8" in message


def test_bytes_valid_in_no_supported_encoding_are_refused_naming_where(
    sqlite_session: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "export.csv", rows(1500), "utf-8")
    path.write_bytes(path.read_bytes() + b"DC9999,\xff\xfe\x80,x\n")
    message = _refused(sqlite_session, path)
    assert "neither UTF-8 nor GB18030" in message
    assert "byte 0xff, offset" in message


@pytest.mark.parametrize("size", [20_000, 200_000])
def test_one_very_large_field_is_refused_with_its_row(
    sqlite_session: Session, tmp_path: Path, size: int
) -> None:
    data = rows(1200)
    data[1100][6] = "课" * size  # after the first page: nothing before it is imported either
    message = _refused(sqlite_session, write_csv(tmp_path / "export.csv", data, "utf-8"))
    assert "row 1102" in message
    assert "characters" in message


def test_a_nul_byte_in_a_csv_is_refused(sqlite_session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", rows(), "utf-8")
    path.write_bytes(path.read_bytes().replace(b"DC0003", b"DC\x000003"))
    assert "NUL" in _refused(sqlite_session, path)


def test_headers_that_are_not_the_mappings_are_refused_naming_the_missing_column(
    sqlite_session: Session, tmp_path: Path
) -> None:
    english = ["id", "id_no", "name", "type", "hours", "date", "title"]
    path = write_csv(tmp_path / "export.csv", rows(), "utf-8", headers=english)
    message = _refused(sqlite_session, path)
    assert "no column for external_id" in message
    assert "记录编号" in message  # the headers it would take
    assert "id_no" in message  # and the ones the file has


def test_one_missing_column_is_named(sqlite_session: Session, tmp_path: Path) -> None:
    headers = [h if h != "学时" else "课时" for h in HEADERS]
    message = _refused(sqlite_session, write_csv(tmp_path / "e.csv", rows(), "utf-8", headers))
    assert "no column for hours" in message
    assert "学时" in message


def test_a_header_given_twice_is_refused(sqlite_session: Session, tmp_path: Path) -> None:
    headers = [*HEADERS[:-1], "学时"]
    message = _refused(sqlite_session, write_csv(tmp_path / "e.csv", rows(), "utf-8", headers))
    assert "'学时' appears twice" in message


def test_a_row_longer_than_the_header_is_refused(sqlite_session: Session, tmp_path: Path) -> None:
    data = rows()
    data[2].append("unexpected")
    message = _refused(sqlite_session, write_csv(tmp_path / "e.csv", data, "utf-8"))
    assert "row 4 has 8 cells but the header only 7" in message


def test_an_excel_id_number_stored_as_a_number_is_refused_with_a_hint(
    sqlite_session: Session, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append(["X1", id_number(1), "王五", "专业科目", 2.5, dt.date(2024, 7, 1), "课"])
    digits = next(id_number(n) for n in range(2, 30) if id_number(n)[-1] != "X")
    sheet.append(["X2", float(digits), "赵六", "专业科目", 3, dt.date(2024, 7, 2), "课"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    message = _refused(sqlite_session, path)
    assert "row 3, column 身份证号" in message
    assert "stored as a number" in message
    assert "format the column as text" in message


def test_xlsx_rows_are_read_whatever_a_stale_dimension_record_says(
    sqlite_session: Session, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for row in rows(5):
        sheet.append(row)
    path = tmp_path / "export.xlsx"
    book.save(path)
    # Rewrite the sheet's dimension record as a writer that forgot to update it would leave it.
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"].decode()
    stale = re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:G2"', sheet_xml)
    assert stale != sheet_xml
    parts["xl/worksheets/sheet1.xml"] = stale.encode()
    with zipfile.ZipFile(path, "w") as rewritten:
        for name, data in parts.items():
            rewritten.writestr(name, data)

    run = import_file(sqlite_session, city_source(sqlite_session), path)

    assert (run.status, run.created) == ("succeeded", 5)


def test_the_import_command_prints_one_line_and_exits_non_zero(
    sqlite_session: Session, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    source = city_source(sqlite_session)
    path = write_csv(tmp_path / "export.csv", rows(), "utf-16")
    result = CliRunner().invoke(main, ["import", str(path), "--source", source])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: export.csv: the file is UTF-16; save it as CSV in UTF-8 (or GB18030) and"
        " import that"
    ]
    assert "Traceback" not in result.output
    assert nothing_imported(sqlite_session)
