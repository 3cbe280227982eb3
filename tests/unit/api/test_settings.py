"""The settings registry covers every setting the code reads; production mode refuses dev setups."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.cli.ops import probe_url
from api.config import DEFAULTS
from api.settings import (
    SETTINGS,
    is_production,
    log_format,
    production_problems,
    render_reference,
)
from ledger.attestations import key_encryption

ROOT = Path(__file__).resolve().parents[3]
CODE = [p for d in ("api", "ledger", "importers") for p in (ROOT / d).rglob("*.py")]
# Set by the code itself (flask-smorest's spec options), not by an operator.
INTERNAL_KEYS = {"API_SPEC_OPTIONS"}
GOOD_KEK = key_encryption.new_kek_text()
PG = "postgresql+psycopg://cehours@db/cehours"


def _documented_env() -> set[str]:
    return {s.env for s in SETTINGS}


def test_every_application_default_is_documented() -> None:
    keys = {s.config_key for s in SETTINGS}
    assert set(DEFAULTS) - {"DATABASE_URL"} <= keys


def test_every_app_config_key_the_code_reads_is_documented() -> None:
    pattern = re.compile(r"""config(?:\.get\(|\[)["']([A-Z][A-Z0-9_]+)["']""")
    read = {m for path in CODE for m in pattern.findall(path.read_text(encoding="utf-8"))}
    missing = read - INTERNAL_KEYS - {s.config_key for s in SETTINGS}
    assert not missing, f"describe these settings in api/settings.py: {sorted(missing)}"


def test_every_cehours_environment_variable_named_in_the_code_is_documented() -> None:
    pattern = re.compile(r"""["'](CEHOURS_[A-Z][A-Z0-9_]+)["']""")
    named = {m for path in CODE for m in pattern.findall(path.read_text(encoding="utf-8"))}
    missing = named - _documented_env()
    assert not missing, f"describe these settings in api/settings.py: {sorted(missing)}"


def test_committed_configuration_reference_is_current() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_reference(), (
        "docs/configuration.md is stale: cehours config reference > docs/configuration.md"
    )


def test_reference_lists_each_setting_with_its_default() -> None:
    text = render_reference()
    for setting in SETTINGS:
        assert f"| `{setting.env}` | `{setting.default_text()}` |" in text


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(key_encryption.KEK_ENV, GOOD_KEK)
    monkeypatch.delenv(key_encryption.KEK_FILE_ENV, raising=False)


@pytest.mark.usefixtures("kek")
def test_production_accepts_postgresql_with_a_key_encryption_key_and_no_dev_setting() -> None:
    assert production_problems({"DATABASE_URL": PG, "DEV": False}) == []


@pytest.mark.usefixtures("kek")
def test_production_refuses_development_mode() -> None:
    problems = production_problems({"DATABASE_URL": PG, "DEV": True})
    assert problems == ["CEHOURS_DEV is on: a development setting"]


@pytest.mark.usefixtures("kek")
def test_production_refuses_the_development_identity_provider() -> None:
    problems = production_problems({"DATABASE_URL": PG, "DEV_IDP": "1"})
    assert problems == ["CEHOURS_DEV_IDP is on: a development setting"]


@pytest.mark.usefixtures("kek")
def test_production_refuses_sqlite() -> None:
    (problem,) = production_problems({"DATABASE_URL": "sqlite:///var/cehours.sqlite3"})
    assert "not PostgreSQL" in problem


def test_production_refuses_a_missing_key_encryption_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(key_encryption.KEK_ENV, raising=False)
    monkeypatch.delenv(key_encryption.KEK_FILE_ENV, raising=False)
    (problem,) = production_problems({"DATABASE_URL": PG})
    assert problem.startswith("attestations cannot be signed: no key-encryption key")


def test_production_mode_comes_from_cehours_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEHOURS_ENV", "Production")
    assert is_production()
    monkeypatch.setenv("CEHOURS_ENV", "development")
    assert not is_production()
    assert is_production({"ENV": "production"})


def test_logs_are_json_in_production_unless_asked_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CEHOURS_LOG_FORMAT", raising=False)
    monkeypatch.delenv("CEHOURS_ENV", raising=False)
    assert log_format({}) == "text"
    assert log_format({"ENV": "production"}) == "json"
    assert log_format({"ENV": "production", "LOG_FORMAT": "text"}) == "text"
    assert log_format({"LOG_FORMAT": "json"}) == "json"


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("0.0.0.0:8000", "http://127.0.0.1:8000/healthz"),
        ("127.0.0.1:9000", "http://127.0.0.1:9000/healthz"),
        (":8080", "http://127.0.0.1:8080/healthz"),
        ("api.internal:80", "http://api.internal:80/healthz"),
    ],
)
def test_healthcheck_probes_loopback_for_a_wildcard_bind(bind: str, url: str) -> None:
    assert probe_url(bind) == url
