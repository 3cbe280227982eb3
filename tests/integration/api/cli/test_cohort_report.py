"""``cehours check --cohort FILE --profile P --as-of D --out REPORT.xlsx``: a reviewing office's
report, read back as an office would open it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from api.cli import main
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from ledger.values.id_numbers import mask_id_number
from tests.factories import city_source, id_number, record

BAD = "330802199001011231"  # wrong check character


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """R2 (seed 002_3f11e0b9a6581793.txt): person 1 meets it; person 2 is 10 hours short."""
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        source = city_source(session)
        records = []
        for person, specialised in ((1, "72"), (2, "62")):
            records += [
                record(f"{person}-s1", person=person, hours=specialised, completed_on="2019-04-10"),
                record(f"{person}-s2", person=person, hours="72", completed_on="2020-03-15"),
                record(f"{person}-g", person=person, category="general_public", hours="18",
                       completed_on="2019-09-01"),
                record(f"{person}-i", person=person, category="industry_public", hours="18",
                       completed_on="2020-05-20"),
            ]  # fmt: skip
        append_records(session, source, records, actor="test")
    engine.dispose()
    return CliRunner()


APPLICANTS = [
    ("身份证号", "姓名", "申报编号"),
    (id_number(1), "张三", "ZC-1"),
    (id_number(2), "李四", "ZC-2"),
    (BAD, "王五", "ZC-3"),
    (id_number(9), "赵六", ""),
    (id_number(1), "张三", "ZC-4"),
]


def write_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(APPLICANTS)
    return path


def write_xlsx(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in APPLICANTS:
        sheet.append(list(row))
    workbook.save(path)
    return path


@pytest.mark.parametrize("writer", [write_csv, write_xlsx])
def test_the_report_has_a_row_per_applicant_and_a_summary(
    cli: CliRunner, tmp_path: Path, writer: object
) -> None:
    source = writer(tmp_path / ("applicants.csv" if writer is write_csv else "applicants.xlsx"))  # type: ignore[operator]
    out = tmp_path / "report.xlsx"
    result = cli.invoke(
        main,
        ["check", "--cohort", str(source), "--profile", "quzhou-2020-intermediate",
         "--as-of", "2020-12-31", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "5 applicants, 1 compliant, 1 not compliant, 3 not evaluated" in result.output
    workbook = load_workbook(out, read_only=True)
    summary, applicants = workbook.worksheets
    rows = [list(r) for r in applicants.iter_rows(values_only=True)]
    header, *body = rows
    assert header[:5] == [
        "行 Row",
        "身份证号 ID number",
        "姓名 Name",
        "编号 Reference",
        "达标 Compliant",
    ]
    assert len(body) == 5
    assert [r[0] for r in body] == [2, 3, 4, 5, 6]
    assert body[0][1] == mask_id_number(id_number(1))
    assert [r[4] for r in body] == ["是 yes", "否 no", "错误 error", "错误 error", "错误 error"]
    assert [r[3] for r in body][:2] == ["ZC-1", "ZC-2"]
    # Each rule's actual, required, shortfall: 180 hours over the window first.
    assert [float(v) for v in body[1][5:8]] == [170.0, 180.0, 10.0]
    assert "row 2" in body[4][-1]
    text = "\n".join(str(c) for r in rows for c in r)
    assert id_number(1) not in text
    assert BAD not in text
    facts = {r[0]: r[1] for r in summary.iter_rows(values_only=True) if r}
    assert facts["申报人数 Applicants"] == 5
    assert facts["达标 Compliant"] == 1
    assert facts["无法核对 Not evaluated (errors)"] == 3
    assert facts["规则 Profile"] == "quzhou-2020-intermediate@1"


def test_a_file_without_an_id_number_column_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "names.csv"
    source.write_text("姓名\n张三\n", encoding="utf-8")
    result = cli.invoke(
        main,
        ["check", "--cohort", str(source), "--profile", "quzhou-annual-90",
         "--out", str(tmp_path / "r.xlsx")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no ID number column" in result.output


def test_cohort_and_out_go_together(cli: CliRunner, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv")
    result = cli.invoke(main, ["check", "--cohort", str(source), "--profile", "quzhou-annual-90"])
    assert result.exit_code == 2
