"""Every shell example of README.md and docs/*.md, run as written against the demo that
``make run`` serves, and the filing system's verification example run against it too.

The demo is started as ``make run`` starts it (``cehours db upgrade``, ``cehours demo``,
``cehours serve --dev``), in a directory laid out like a checkout (the repository's files, a
``.venv`` and a fresh ``var/`` with the SQLite database), on a free port. Only the base URL of
the examples is rewritten. Each document's examples run in order in one shell session, as a
reader would run them: a variable set in one block is there in the next. Every command must
exit 0 (``curl`` in ``sh`` blocks runs with ``--fail-with-body``, so an HTTP error fails it), and
the output a document shows must match in shape (:mod:`tests.doc_examples`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.doc_examples import ROOT, Block, blocks, documents, output_mismatch
from tests.e2e.server import running_server

VENV = Path(sys.executable).parent.parent
DEMO_PORT_TEXT = ("http://127.0.0.1:8000", "http://localhost:8000", "localhost:8000")
# The shell's state between commands: every variable assigned is exported (set -a) and the
# exported environment is kept in a file the next command reads.
_SCRIPT = """set -a
. {state}
set -o pipefail
{curl}
{command}
status=$?
export -p > {state}
exit $status
"""
_FAILING_CURL = 'curl() { command curl --fail-with-body "$@"; }'


@dataclass
class Demo:
    home: Path
    base: str
    env: dict[str, str]


def _environment(home: Path) -> dict[str, str]:
    """The caller's environment without any cehours setting, with this tree's code."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CEHOURS_", "PROMETHEUS_")) and k not in ("DATABASE_URL", "CI")
    }
    # A reader's shell has no venv on its PATH: the examples say .venv/bin/... themselves.
    path = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != VENV / "bin"]
    env["PATH"] = os.pathsep.join(path)
    env["PYTHONPATH"] = str(ROOT)
    env["HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("readme-demo")
    for entry in ROOT.iterdir():
        if entry.name not in {".venv", "var", ".git"} and not entry.name.startswith("."):
            (home / entry.name).symlink_to(entry)
    (home / ".venv").symlink_to(VENV)
    (home / "var").mkdir()
    env = _environment(home)
    for step in (["db", "upgrade"], ["demo"]):
        done = subprocess.run(
            [".venv/bin/cehours", *step], cwd=home, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    with running_server(env, home / "serve.log", args=["--dev"], cwd=home) as base:
        yield Demo(home, base, env)


def _rewrite(command: str, base: str) -> str:
    for text in DEMO_PORT_TEXT:
        command = command.replace(text, base if text.startswith("http") else base[7:])
    return command


def _run(demo: Demo, block: Block, command: str, state: Path) -> tuple[int, str]:
    script = _SCRIPT.format(
        state=state,
        curl=_FAILING_CURL if block.language == "sh" else "",
        command=_rewrite(command, demo.base),
    )
    # Its own process group, so that a command still running at the timeout is stopped with
    # everything it started (a runaway example must not go on beside the suite).
    with subprocess.Popen(
        ["bash", "-c", script],
        cwd=demo.home,
        env=demo.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as running:
        try:
            output, _ = running.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(running.pid, signal.SIGKILL)
            output, _ = running.communicate()
            return -signal.SIGKILL, f"{output}\n(stopped after 180 s)"
    return running.returncode, output


def _runnable(document: Path) -> list[Block]:
    return [b for b in blocks(document) if b.not_run is None]


DOCUMENTS = [d for d in documents() if _runnable(d)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_the_examples_run_as_written(demo: Demo, document: Path) -> None:
    state = demo.home / f".state-{document.stem}"
    state.write_text("", encoding="utf-8")
    ran = 0
    for block in _runnable(document):
        for command in block.commands():
            where = f"{document.relative_to(ROOT)}:{command.line}"
            code, output = _run(demo, block, command.text, state)
            assert code == 0, f"{where}: exit {code}\n$ {command.text}\n{output}"
            problem = output_mismatch(command.shown, output)
            assert problem is None, f"{where}: {problem}\n$ {command.text}\n{output}"
            ran += 1
    assert ran > 0


def test_readme_has_runnable_examples_and_every_block_not_run_says_why() -> None:
    every = [b for d in documents() for b in blocks(d)]
    assert sum(1 for b in every if b.not_run is None) >= 10
    for block in every:
        if block.not_run is not None:
            # A reason a reader can act on, not a bare marker.
            assert len(block.not_run.split()) >= 4, f"{block.where}: say why it is not run"


def test_the_shape_check_fails_on_output_unlike_the_document(demo: Demo, tmp_path: Path) -> None:
    # The runner itself: an example whose shown output is wrong must fail it.
    page = tmp_path / "page.md"
    page.write_text(
        '```console\n$ curl -s http://127.0.0.1:8000/healthz\n{"status": "broken"}\n```\n',
        encoding="utf-8",
    )
    (block,) = blocks(page)
    (command,) = block.commands()
    state = tmp_path / "state"
    state.write_text("", encoding="utf-8")
    code, output = _run(demo, block, command.text, state)
    assert code == 0
    assert output_mismatch(command.shown, output) is not None
    assert output_mismatch(["{...}"], output) is None


# -- the filing system's verification example (README, "Attestations") ---------------------


def _filing_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Attestations", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def _cehours(demo: Demo, *args: str) -> str:
    done = subprocess.run(
        [".venv/bin/cehours", *args], cwd=demo.home, env=demo.env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _issue(demo: Demo, key: str) -> dict[str, str]:
    issued = requests.post(
        f"{demo.base}/v1/attestations",
        json={
            "id_number": "330802198806151238",
            "profile": "quzhou-2020-intermediate",
            "as_of": "2020-12-31",
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert issued.status_code == 201, issued.text
    body: dict[str, str] = issued.json()
    return body


def _run_example(code: str, token: str, id_number: str) -> subprocess.CompletedProcess[str]:
    """The example as a filing system runs it: its own Python process, given the token and
    the applicant's ID number."""
    program = f"token = {token!r}\nid_number = {id_number!r}\n" + code
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )


def test_the_filing_example_accepts_a_valid_token_and_refuses_with_reasons(demo: Demo) -> None:
    code = _filing_example()
    assert "assert " not in code  # explicit errors: asserts vanish under python -O
    placeholder = 'BASE, ISSUER = "https://cehours.example", "https://cehours.example/"'
    assert placeholder in code
    # The demo's issuer is the default, https://cehours.example/: only the base URL changes.
    code = code.replace(placeholder, f'BASE, ISSUER = "{demo.base}", "https://cehours.example/"')
    key = _cehours(demo, "clients", "add", "--name", "filing example", "--role", "filing")
    issued = _issue(demo, key)

    accepted = _run_example(code, issued["token"], "330802198806151238")
    assert accepted.returncode == 0, accepted.stderr
    assert re.match(r"False \{'2019': \{", accepted.stdout)  # 5.5 hours short, per year totals

    someone_else = _run_example(code, issued["token"], "11010519491231002X")
    assert someone_else.returncode == 1
    assert "NotAcceptable: this attestation is not about this applicant" in someone_else.stderr

    _cehours(demo, "attestations", "revoke", issued["jti"], "--reason", "falsified hours")
    revoked = _run_example(code, issued["token"], "330802198806151238")
    assert revoked.returncode == 1
    assert "NotAcceptable: the attestation is revoked" in revoked.stderr
