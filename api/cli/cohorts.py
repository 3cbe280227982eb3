"""``cehours check --cohort FILE --out REPORT.xlsx``: a filing season's applicants in one report.

FILE is a CSV or XLSX of applicants with a header row: the ID number (``身份证号``,
``身份证号码``, ``公民身份号码``, ``证件号码`` or ``id_number``), the name (``姓名`` or ``name``)
and, optionally, a reference (``申报编号``, ``编号``, ``ref`` or ``reference``). Each is
evaluated by the ledger's cohort use case (``ledger.compliance.cohorts``, the one evaluation
path), 1,000 at a time; the report has one row per applicant (the ID number masked) with each
rule's actual, required and shortfall hours, and a summary sheet. Input and output are streamed,
so memory stays flat however many applicants there are.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from api.cli.output import human_time
from importers.files import read_rows
from ledger.compliance.cohorts import MAX_COHORT, CohortResult, evaluate_cohort
from ledger.compliance.facts import resolve_frame
from ledger.compliance.profile import Profile
from ledger.compliance.results import Evaluation
from ledger.values.id_numbers import mask_id_number, validate_id_number

HEADERS = {
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "id_number"),
    "name": ("姓名", "name"),
    "ref": ("申报编号", "编号", "ref", "reference"),
}
HOURS_FORMAT = "0.0"


class CohortFileError(ValueError):
    """The applicants' file cannot be used (no ID number column)."""


@dataclass(frozen=True, slots=True)
class Applicant:
    """One row of the applicants' file."""

    row: int
    id_number: str
    name: str
    ref: str | None


@dataclass
class Summary:
    """What the summary sheet says."""

    applicants: int = 0
    compliant: int = 0
    not_compliant: int = 0
    errors: int = 0
    failed_rules: Counter[str] = field(default_factory=Counter)


def _column(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in row:
            return row[name]
    return None


def read_applicants(path: Path) -> Iterator[Applicant]:
    """The applicants of a CSV or XLSX file, in order (row numbers as a spreadsheet shows them).

    Raises:
        CohortFileError: no ID number column.
        FileFormatError: not a readable CSV or XLSX file.
    """
    for number, row in enumerate(read_rows(path), start=2):
        if not any(name in row for name in HEADERS["id_number"]):
            raise CohortFileError(
                f"{path.name}: no ID number column (one of {', '.join(HEADERS['id_number'])})"
            )
        ref = _column(row, HEADERS["ref"])
        yield Applicant(
            row=number,
            id_number=str(_column(row, HEADERS["id_number"]) or "").strip(),
            name=str(_column(row, HEADERS["name"]) or "").strip(),
            ref=(str(ref).strip() or None) if ref is not None else None,
        )


def _batches(applicants: Iterable[Applicant], size: int) -> Iterator[list[Applicant]]:
    batch: list[Applicant] = []
    for applicant in applicants:
        batch.append(applicant)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _masked(id_number: str) -> str:
    try:
        return mask_id_number(validate_id_number(id_number))
    except ValueError:
        # Not a valid number: shown only by its length, never in clear.
        return f"(invalid, {len(id_number)} characters)"


class Report:
    """The workbook, written as it goes (openpyxl's write-only mode)."""

    def __init__(self, profile: Profile, as_of: dt.date) -> None:
        from openpyxl import Workbook  # only this command writes spreadsheets

        self.profile = profile
        self.as_of = as_of
        self.workbook = Workbook(write_only=True)
        self.summary_sheet = self.workbook.create_sheet("汇总 Summary")
        self.sheet = self.workbook.create_sheet("申报人员 Applicants")
        self.summary = Summary()
        header = ["行 Row", "身份证号 ID number", "姓名 Name", "编号 Reference", "达标 Compliant"]
        for rule in profile.rules:
            label = rule.label_zh or rule.id
            header += [f"{label} 实际 actual", f"{label} 要求 required", f"{label} 差额 shortfall"]
        self.sheet.append([*header, "说明 Note"])

    def add(self, applicant: Applicant, result: CohortResult | None, note: str | None) -> None:
        """One applicant's row: their evaluation, or the note saying why there is none."""
        cells: list[Any] = [
            applicant.row,
            _masked(applicant.id_number),
            applicant.name,
            applicant.ref or "",
        ]
        self.summary.applicants += 1
        evaluation = result.evaluation if result is not None else None
        if evaluation is None:
            self.summary.errors += 1
            error = result.error if result is not None else None
            self.sheet.append([*cells, "错误 error", *[None] * (3 * len(self.profile.rules)),
                               note or str(error)])  # fmt: skip
            return
        self._count(evaluation)
        cells.append("是 yes" if evaluation.compliant else "否 no")
        for rule in evaluation.rules:
            cells += [self._hours(rule.actual), self._hours(rule.required),
                      self._hours(rule.shortfall)]  # fmt: skip
        self.sheet.append([*cells, None])

    def _hours(self, value: Decimal | None) -> Any:
        """A number cell shown with one decimal place (hours are never floats until here)."""
        if value is None:
            return None
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self.sheet, value=value)
        cell.number_format = HOURS_FORMAT
        return cell

    def _count(self, evaluation: Evaluation) -> None:
        if evaluation.compliant:
            self.summary.compliant += 1
        else:
            self.summary.not_compliant += 1
        for rule in evaluation.rules:
            if rule.passed is False:
                self.summary.failed_rules[rule.rule.id] += 1

    def discard(self) -> None:
        """Close the sheets' temporary files without writing the workbook (after an error)."""
        for sheet in (self.summary_sheet, self.sheet):
            if not sheet.closed:
                sheet.close()

    def save(self, out: Path, source: Path) -> None:
        """Write the summary sheet and the file."""
        s, p = self.summary, self.profile
        rows: list[list[Any]] = [
            ["规则 Profile", p.ref, p.title_zh],
            ["摘要 Digest", p.digest],
            ["截止日期 As of", self.as_of.isoformat()],
            ["名单 Applicants' file", source.name],
            ["生成时间 Generated at", human_time(dt.datetime.now(dt.UTC))],
            [],
            ["申报人数 Applicants", s.applicants],
            ["达标 Compliant", s.compliant],
            ["未达标 Not compliant", s.not_compliant],
            ["无法核对 Not evaluated (errors)", s.errors],
            [],
            ["规则 Rule", "未达标人数 Applicants failing it"],
        ]
        rows += [[r.label_zh or r.id, s.failed_rules[r.id]] for r in p.rules if r.hours is not None]
        for row in rows:
            self.summary_sheet.append(row)
        self.workbook.save(out)


def write_cohort_report(
    session: Session,
    profile: Profile,
    source: Path,
    out: Path,
    as_of: dt.date | None = None,
    *,
    industry_platform: bool | None = None,
    progress: Any = None,
) -> Summary:
    """Evaluate every applicant of ``source`` and write the report to ``out``.

    ``progress`` is called with the number of applicants done after each batch.

    Raises:
        CohortFileError: no ID number column.
        FileFormatError: not a readable CSV or XLSX file.
        ValidationError: an as-of date before 1990.
    """
    as_of = resolve_frame(profile, as_of).as_of
    report = Report(profile, as_of)
    try:
        _evaluate_into(report, session, profile, source, as_of, industry_platform, progress)
    except BaseException:
        report.discard()
        raise
    report.save(out, source)
    return report.summary


def _evaluate_into(
    report: Report,
    session: Session,
    profile: Profile,
    source: Path,
    as_of: dt.date,
    industry_platform: bool | None,
    progress: Any,
) -> None:
    """Every applicant's row, 1,000 evaluations at a time."""
    first_row: dict[str, int] = {}
    for batch in _batches(read_applicants(source), MAX_COHORT):
        earlier = [_first_row(first_row, applicant) for applicant in batch]
        asked = [a for a, e in zip(batch, earlier, strict=True) if e is None]
        people = [{"id_number": a.id_number, "ref": a.ref} for a in asked]
        results = iter(
            evaluate_cohort(session, profile, people, as_of, industry_platform=industry_platform)
            if people
            else []
        )
        for applicant, row in zip(batch, earlier, strict=True):
            if row is None:
                report.add(applicant, next(results), None)
            else:
                report.add(applicant, None, f"与第 {row} 行重复 same person as row {row}")
        if progress is not None:
            progress(len(batch))


def _first_row(first_row: dict[str, int], applicant: Applicant) -> int | None:
    """The row where this applicant's ID number came first, if it came before."""
    try:
        number = validate_id_number(applicant.id_number)
    except ValueError:
        return None
    earlier = first_row.get(number)
    if earlier is None:
        first_row[number] = applicant.row
    return earlier


def on_a_terminal() -> bool:
    """Whether a progress bar would be seen."""
    return sys.stderr.isatty()
