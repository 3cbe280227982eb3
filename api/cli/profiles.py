"""Commands of the profiles area: ``profiles validate|list|show`` and ``check``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path

import click
from tqdm import tqdm

from api.cli import fail, open_session
from api.cli.cohorts import CohortFileError, on_a_terminal, read_applicants, write_cohort_report
from api.cli.output import echo_table
from importers.errors import FileFormatError
from ledger.compliance.catalogue import catalogue, profile_json
from ledger.compliance.evaluation import evaluate
from ledger.compliance.profile_files import load_profile_file
from ledger.compliance.results import Evaluation
from ledger.entries.people import find_person_id
from ledger.errors import LedgerError, ProfileError
from ledger.values.categories import CATEGORY_LABELS_ZH, Category
from ledger.values.hours import format_hours
from ledger.values.id_numbers import mask_id_number, normalise_id_number


@click.group()
def profiles() -> None:
    """Rule profiles (versioned CE requirements)."""


@profiles.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def profiles_validate(files: tuple[str, ...]) -> None:
    """Check profile files; list every mistake with its path. Exit 1 if any file is invalid."""
    bad = 0
    for name in files:
        try:
            profile = load_profile_file(name)
        except ProfileError as exc:
            bad += 1
            click.echo(f"{name}: INVALID ({sum(len(v) for v in exc.errors.values())} problem(s))")
            for path, messages in exc.errors.items():
                for message in messages:
                    click.echo(f"  {path}: {message}")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            bad += 1
            click.echo(f"{name}: cannot be read: {exc}")
            continue
        click.echo(f"{name}: OK {profile.ref} digest {profile.digest}")
    if bad:
        sys.exit(1)


@profiles.command("list")
def profiles_list() -> None:
    """List every known profile version (built-ins and $CEHOURS_PROFILES_DIR)."""
    try:
        known = catalogue().all()
    except ProfileError as exc:
        fail(exc)
    rows = [[p.ref, p.digest[:12], p.title_zh, p.title_en] for p in known]
    echo_table(["PROFILE", "DIGEST", "TITLE", "TITLE (EN)"], rows, empty="no profiles")


@profiles.command("show")
@click.argument("profile_ref")
def profiles_show(profile_ref: str) -> None:
    """Print a profile's normalised content (what its digest covers) as JSON."""
    try:
        profile = catalogue().get(profile_ref)
    except LedgerError as exc:
        fail(exc)
    click.echo(profile_json(profile))


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [_row(header, widths), _row(["-" * w for w in widths], widths)] + [
        _row(r, widths) for r in rows
    ]


def render(evaluation: Evaluation, *, who: str, title: str) -> list[str]:
    """The evaluation as text tables for a terminal."""
    ev = evaluation
    span = f"{min(ev.window)}-{max(ev.window)}" if len(ev.window) > 1 else str(ev.window[0])
    lines = [
        f"Person:   {who}",
        f"Profile:  {ev.profile_id}@{ev.profile_version}  {title}",
        f"Digest:   {ev.profile_digest}",
        f"As of:    {ev.as_of.isoformat()}  (completions up to {ev.last_counted_day.isoformat()}"
        f" count; window {span})",
        f"Of record: {ev.hours_of_record} platform hours"
        f" (industry platform: {'yes' if ev.industry_platform else 'no'},"
        f" decided by {ev.industry_decided_by})",
        "",
    ]
    rule_rows = []
    for r in ev.rules:
        result = "info" if r.passed is None else "PASS" if r.passed else "FAIL"
        label = r.rule.label_en or r.rule.id
        rule_rows.append(
            [
                r.rule.id,
                label,
                r.rule.per,
                "-" if r.required is None else format_hours(r.required),
                format_hours(r.actual),
                format_hours(r.shortfall),
                result,
            ]
        )
        if len(r.checks) > 1:
            for c in r.checks:
                rule_rows.append(
                    [
                        "",
                        f"  {c.year}",
                        "",
                        "-" if c.required is None else format_hours(c.required),
                        format_hours(c.actual),
                        format_hours(c.shortfall),
                        "" if c.passed is None else "pass" if c.passed else "fail",
                    ]
                )
    lines += _table(
        ["rule", "label", "per", "required", "actual", "shortfall", "result"], rule_rows
    )
    lines.append("")
    cats = list(Category)
    total_rows = []
    for year in ev.window:
        figures = [format_hours(ev.totals[year][c.value]) for c in cats]
        year_total = sum(ev.totals[year].values(), Decimal("0.0"))
        total_rows.append([str(year), *figures, format_hours(year_total)])
    window = ev.window_totals
    total_rows.append(
        ["window", *[format_hours(window[c.value]) for c in cats], format_hours(window["total"])]
    )
    lines += _table(
        ["year", *[f"{c.value} {CATEGORY_LABELS_ZH[c]}" for c in cats], "total"], total_rows
    )
    lines.append("")
    entry_rows = [
        [
            str(v.entry.id),
            v.entry.source_id,
            v.entry.completed_on.isoformat(),
            v.entry.category,
            format_hours(v.entry.hours),
            "yes" if v.counted else "no",
            v.detail or "",
        ]
        for v in ev.entries
    ]
    if entry_rows:
        lines += _table(
            ["entry", "source", "completed", "category", "hours", "counted", "why not"],
            entry_rows,
        )
        lines.append("")
    lines.append("Result: " + ("COMPLIANT" if ev.compliant else "NOT COMPLIANT"))
    return lines


@click.command("check")
@click.option("--id-number", help="the person's resident ID number (never printed in full)")
@click.option("--person-id", help="the person's opaque id, instead of --id-number")
@click.option(
    "--cohort",
    "cohort_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="a CSV or XLSX of applicants (ID number, name, reference), instead of one person",
)
@click.option(
    "--out",
    "report_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="with --cohort: the XLSX report to write",
)
@click.option("--profile", "profile_ref", required=True, help="profile id, or id@version")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="evaluate as of this date (default: the profile's, else today in Asia/Shanghai)",
)
@click.option(
    "--industry-platform/--city-platform",
    "industry",
    default=None,
    help="say whether the person's industry is managed on the provincial industry platform"
    " (default: as the profile decides)",
)
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def check(
    id_number: str | None,
    person_id: str | None,
    profile_ref: str,
    as_of: dt.datetime | None,
    industry: bool | None,
    as_json: bool,
    cohort_file: Path | None,
    report_file: Path | None,
) -> None:
    """Evaluate a person against a rule profile and print the result as tables; or, with
    --cohort and --out, every applicant of a file into an XLSX report."""
    if cohort_file is not None or report_file is not None:
        if cohort_file is None or report_file is None or id_number or person_id or as_json:
            raise click.UsageError("--cohort FILE goes with --out REPORT.xlsx, and alone")
        check_cohort(cohort_file, report_file, profile_ref, as_of, industry)
        return
    if (id_number is None) == (person_id is None):
        raise click.UsageError("give exactly one of --id-number or --person-id")
    try:
        profile = catalogue().get(profile_ref)
        with open_session() as session:
            pid = person_id if person_id is not None else find_person_id(session, id_number or "")
            result = evaluate(
                session,
                pid,
                profile,
                as_of.date() if as_of else None,
                industry_platform=industry,
            )
    except LedgerError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    who = pid if id_number is None else f"{pid} ({mask_id_number(normalise_id_number(id_number))})"
    for line in render(result, who=who, title=profile.title_zh):
        click.echo(line)


def check_cohort(
    source: Path, out: Path, profile_ref: str, as_of: dt.datetime | None, industry: bool | None
) -> None:
    """``check --cohort``: the report, with a progress bar on a terminal."""
    try:
        profile = catalogue().get(profile_ref)
        total = sum(1 for _ in read_applicants(source)) if on_a_terminal() else None
        with (
            open_session() as session,
            tqdm(total=total, unit=" applicants", disable=total is None) as bar,
        ):
            summary = write_cohort_report(
                session,
                profile,
                source,
                out,
                as_of.date() if as_of else None,
                industry_platform=industry,
                progress=bar.update,
            )
    except LedgerError as exc:
        fail(exc)
    except (CohortFileError, FileFormatError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"{out}: {summary.applicants} applicants, {summary.compliant} compliant,"
        f" {summary.not_compliant} not compliant, {summary.errors} not evaluated"
    )


COMMANDS: list[click.Command] = [profiles, check]
