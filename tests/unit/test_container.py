"""The Dockerfile and compose.yaml: hadolint passes, and every command they run exists."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from api.cli import main

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> list[str]:
    """The JSON-array arguments of the last ``name`` instruction (continuations joined)."""
    text = dockerfile().replace("\\\n", " ")
    (*_, last) = re.findall(rf"^{name}\s+(.*)$", text, flags=re.MULTILINE)
    return list(json.loads(last[last.index("[") :]))


def is_cehours_command(argv: list[str]) -> bool:
    """Whether ``argv`` (after ``cehours``) names a command of the CLI."""
    group = main
    for word in argv:
        if word.startswith("-"):
            break
        command = getattr(group, "commands", {}).get(word)
        if command is None:
            return False
        group = command
    return group is not main


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_cehours_serve_as_a_non_root_user_with_a_health_check() -> None:
    assert instruction("ENTRYPOINT") == ["cehours"]
    assert instruction("CMD") == ["serve"]
    assert instruction("HEALTHCHECK") == ["cehours", "healthcheck"]
    assert is_cehours_command(["healthcheck"])
    (user,) = re.findall(r"^USER\s+(\S+)$", dockerfile(), flags=re.MULTILINE)
    assert user.split(":")[0] not in ("0", "root")


def test_the_final_stage_gets_no_build_tools_or_dev_extras() -> None:
    stages = re.split(r"^FROM\s", dockerfile(), flags=re.MULTILINE)
    final = stages[-1]
    assert "[dev]" not in dockerfile()
    assert "COPY --from=build /opt/cehours /opt/cehours" in final
    assert not re.search(r"\b(gcc|build-essential|pytest|COPY \. )", final)


def test_migrations_are_a_separate_command_not_part_of_start_up() -> None:
    assert "db upgrade" not in " ".join(instruction("CMD") + instruction("ENTRYPOINT"))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("api", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_compose_runs_postgresql_the_service_and_the_scheduler_with_real_commands() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "api", "scheduler"}
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("migrate", "api", "scheduler"):
        command = services[name]["command"]
        assert is_cehours_command(command), f"{name}: cehours {shlex.join(command)}"
        env = services[name]["environment"]
        assert env["CEHOURS_ENV"] == "production"
        assert env["CEHOURS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert not is_cehours_command(["no-such-command"])


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignore[1] == "*" or "*" in ignore
    for included in ("!ledger/", "!api/", "!importers/", "!migrations/", "!constraints.txt"):
        assert included in ignore
    assert not any(line.startswith(("!var", "!.env", "!tests")) for line in ignore)
