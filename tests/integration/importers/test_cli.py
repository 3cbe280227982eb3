"""The operator's commands: ``cehours sync SOURCE``, ``sync status``, ``sync quarantine``,
``import``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from api.cli import main
from ledger.sync.leases import acquire_lease
from tests.factories import id_number
from tests.integration.importers.conftest import make_source
from tests.integration.importers.fake_platform import FakePlatform
from tests.integration.importers.helpers import SOURCE, assert_ledger_matches
from tests.integration.importers.test_quarantine import BAD_ID


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    return CliRunner()


def test_sync_source_pulls_and_reports_the_run(
    cli: CliRunner, sqlite_session: Session, cursor_platform: FakePlatform
) -> None:
    make_source(sqlite_session, cursor_platform)

    result = cli.invoke(main, ["sync", SOURCE])

    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert "25 created" in result.output
    assert_ledger_matches(sqlite_session, cursor_platform)


def test_sync_of_a_busy_source_exits_non_zero(
    cli: CliRunner, sqlite_session: Session, cursor_platform: FakePlatform
) -> None:
    import datetime as dt

    make_source(sqlite_session, cursor_platform)
    acquire_lease(sqlite_session, SOURCE, "scheduler", ttl=dt.timedelta(minutes=5))

    result = cli.invoke(main, ["sync", SOURCE])

    assert result.exit_code == 1
    assert "being synced by another process" in result.output


def test_a_failed_sync_exits_non_zero_with_the_reason(
    cli: CliRunner, sqlite_session: Session, cursor_platform: FakePlatform
) -> None:
    make_source(sqlite_session, cursor_platform)
    cursor_platform.faults.extend(["500"] * 5)

    result = cli.invoke(main, ["sync", SOURCE])

    assert result.exit_code == 1
    assert "failed" in result.output
    assert "HTTP 500" in result.output


def test_sync_status_shows_last_run_cursor_and_quarantine(
    cli: CliRunner, sqlite_session: Session, cursor_platform: FakePlatform
) -> None:
    make_source(sqlite_session, cursor_platform)
    cursor_platform.put("JL00004", sfzh=BAD_ID)
    cli.invoke(main, ["sync", SOURCE])

    text = cli.invoke(main, ["sync", "status"])
    data = json.loads(cli.invoke(main, ["sync", "status", "--json"]).output)

    header, row = text.output.splitlines()[:2]
    assert row[header.index("QUARANTINED") :].split()[0] == "1"
    (status,) = data
    # 25 records, one of them changed: 26 changes in the feed, the last page starts after 21.
    assert status["cursor"] == {"cursor": "21"}
    assert (status["last_run"]["created"], status["last_run"]["rejected"]) == (24, 1)


def test_sync_quarantine_lists_reasons_with_the_id_number_masked(
    cli: CliRunner, sqlite_session: Session, cursor_platform: FakePlatform
) -> None:
    make_source(sqlite_session, cursor_platform)
    cursor_platform.put("JL00004", sfzh=BAD_ID)
    cli.invoke(main, ["sync", SOURCE])

    result = cli.invoke(main, ["sync", "quarantine", SOURCE])

    assert result.exit_code == 0
    assert "JL00004" in result.output
    assert "id_number" in result.output
    assert BAD_ID not in result.output
    assert BAD_ID[:6] + "********" in result.output


def test_import_reads_a_gb18030_csv_with_a_yaml_mapping(
    cli: CliRunner, sqlite_session: Session, tmp_path: Path
) -> None:
    from tests.factories import city_source

    source = city_source(sqlite_session)
    path = tmp_path / "导出.csv"
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "身份证号", "姓名", "类别", "学时", "完成日期"])
        writer.writerow(["A1", id_number(1), "张三", "专业科目", "2", "2024/05/01"])
        writer.writerow(["A2", BAD_ID, "李四", "专业科目", "2", "2024/05/01"])
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("fields:\n  external_id: 编号\n  category: 类别\n", encoding="utf-8")

    result = cli.invoke(main, ["import", str(path), "--source", source, "--mapping", str(mapping)])

    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    assert "1 rows quarantined" in result.output
    assert BAD_ID not in result.output


def test_sync_configure_checks_and_stores_a_pull_configuration(
    cli: CliRunner, sqlite_session: Session, cursor_platform: FakePlatform, tmp_path: Path
) -> None:
    from ledger.entries.sources import get_source
    from tests.factories import city_source

    source = city_source(sqlite_session)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(cursor_platform.config()), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**cursor_platform.config(), "password": "x"}), encoding="utf-8")

    refused = cli.invoke(main, ["sync", "configure", source, str(bad)])
    stored = cli.invoke(main, ["sync", "configure", source, str(good)])

    assert refused.exit_code == 1
    assert "unknown configuration keys: password" in refused.output
    assert stored.exit_code == 0, stored.output
    assert get_source(sqlite_session, source).config == cursor_platform.config()
    assert cli.invoke(main, ["sync", source]).exit_code == 0
