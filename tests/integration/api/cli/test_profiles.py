"""``cehours profiles validate|list|show`` and ``cehours check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from ledger.compliance.catalogue import BUILTIN_DIR, TEMPLATES_DIR
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries.append import append_records
from tests.factories import city_source, id_number, record


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    return CliRunner()


@pytest.fixture
def person_with_hours(sqlite_url: str) -> str:
    """R3 (seed 002_3f11e0b9a6581793.txt): 89.5 hours in 2020, half an hour short."""
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        source = city_source(session)
        append_records(
            session,
            source,
            [
                record("a", hours="60", completed_on="2020-03-01"),
                record("b", category="general_public", hours="29.5", completed_on="2020-05-01"),
                record("c", hours="12", completed_on="2020-11-01"),
            ],
            actor="test",
        )
    engine.dispose()
    return id_number(1)


def test_validate_accepts_the_built_ins_and_prints_their_digests(cli: CliRunner):
    files = sorted(str(p) for p in BUILTIN_DIR.glob("*.yaml"))
    result = cli.invoke(main, ["profiles", "validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": OK ") == len(files)


def test_validate_lists_every_mistake_and_exits_1(cli: CliRunner, tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    text = (BUILTIN_DIR / "quzhou-annual-90.yaml").read_text("utf-8")
    broken.write_text(text.replace("hours: 90", "hours: 90.25").replace("per: year", "per: month"))
    result = cli.invoke(
        main, ["profiles", "validate", str(broken), str(TEMPLATES_DIR / "senior-industry.yaml")]
    )
    assert result.exit_code == 1
    assert "rules[0].hours: may have at most one decimal place" in result.output
    assert "rules[0].per: must be one of year, window" in result.output
    assert "senior-industry.yaml: INVALID" in result.output


def test_list_and_show(cli: CliRunner):
    listed = cli.invoke(main, ["profiles", "list"])
    assert "quzhou-2020-intermediate@1" in listed.output
    shown = cli.invoke(main, ["profiles", "show", "cixi-2021-intermediate"])
    assert json.loads(shown.output)["window"] == {"years": [2019, 2020, 2021]}
    assert cli.invoke(main, ["profiles", "show", "nope"]).exit_code == 1


def test_check_prints_the_result_as_tables_with_the_id_number_masked(
    cli: CliRunner, person_with_hours: str
):
    # seed: 002_3f11e0b9a6581793.txt (R3)
    result = cli.invoke(
        main,
        [
            "check",
            "--id-number",
            person_with_hours,
            "--profile",
            "quzhou-junior-bachelor",
            "--as-of",
            "2020-10-31",
        ],
    )
    assert result.exit_code == 0, result.output
    assert person_with_hours not in result.output
    assert person_with_hours[:6] + "********" + person_with_hours[-4:] in result.output
    assert "Result: NOT COMPLIANT" in result.output
    assert "90.0      89.5    0.5        FAIL" in result.output
    assert "after the cut-off" in result.output


def test_check_json_matches_the_api_shape(cli: CliRunner, person_with_hours: str):
    result = cli.invoke(
        main,
        [
            "check",
            "--id-number",
            person_with_hours,
            "--profile",
            "quzhou-junior-bachelor",
            "--as-of",
            "2020-12-31",
            "--json",
        ],
    )
    body = json.loads(result.output)
    assert body["compliant"] is True
    assert body["window_totals"]["total"] == "101.5"


def test_check_refuses_an_invalid_id_number_without_echoing_it(cli: CliRunner):
    result = cli.invoke(
        main, ["check", "--id-number", "330802197001010012", "--profile", "quzhou-annual-90"]
    )
    assert result.exit_code == 1
    assert "330802197001010012" not in result.output
    assert "check character" in result.output
