"""The README's "Filing offices" examples, run against the demo that ``make run`` loads."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.app import create_app
from api.cli import main
from ledger.access.clients import create_client

README = Path(__file__).resolve().parents[3] / "README.md"


def shell_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Filing offices", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture
def demo(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CEHOURS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("CEHOURS_KEY_ENCRYPTION_KEY_FILE", raising=False)
    loaded = CliRunner().invoke(main, ["demo"])
    assert loaded.exit_code == 0, loaded.output
    return sqlite_url


def test_the_batch_example_answers_as_the_readme_says(demo: str) -> None:
    block = shell_blocks()[0]
    body = json.loads(re.search(r"-d '(\{.*\})'", block).group(1))  # type: ignore[union-attr]
    said = re.search(r'"counts": (\{[^}]*\})', block).group(1)  # type: ignore[union-attr]
    app = create_app({"DATABASE_URL": demo, "TESTING": True})
    try:
        with app.extensions["cehours"].sessions() as session:
            _, key = create_client(session, name="filing system", role="filing")
        response = app.test_client().post(
            "/v1/compliance/batch", json=body, headers={"Authorization": f"Bearer {key}"}
        )
    finally:
        app.extensions["cehours"].engine.dispose()
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["counts"] == json.loads(said)
    assert [r["ref"] for r in answer["results"]] == [p.get("ref") for p in body["people"]]
    assert answer["results"][1]["error"]["type"] == "urn:cehours:problem:unknown-person"


def test_the_cohort_report_example_writes_what_the_readme_says(
    demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    printf, command, said = shell_blocks()[1].strip().splitlines()
    subprocess.run(["bash", "-c", printf], check=True)
    args = shlex.split(command)
    assert args[0] == ".venv/bin/cehours"
    result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == said.removeprefix("# -> ").strip()
    assert (tmp_path / "report.xlsx").stat().st_size > 0
