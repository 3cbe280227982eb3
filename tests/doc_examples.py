"""The shell examples of README.md and docs/*.md: found, split into commands, and the output a
document shows compared in shape with what a command printed.

The convention (README.md, "Examples in the documentation"): a fenced block marked ``sh`` or
``console`` is an example and is run, against the demo that ``make run`` serves, by
``tests/e2e/docs/test_examples.py``. In ``sh`` blocks a comment line ``# -> OUTPUT`` right after
a command shows the shape of its output; in ``console`` blocks commands follow ``$ `` and the
lines after a command are its output. A block that cannot run against the demo is marked by a
comment on the line before its fence, ``<!-- not run: why -->``, and the why is required.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUN_LANGUAGES = ("sh", "console")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<why>.*?)\s*-->$")
_FENCE = re.compile(r"^```(?P<info>[\w-]*)\s*$")
_HEREDOC = re.compile(r"<<-?\s*['\"]?(?P<word>\w+)['\"]?")


@dataclass
class Command:
    """One command of an example, where it is, and the output the document shows (if any)."""

    text: str
    line: int
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    """One fenced ``sh`` or ``console`` block."""

    document: Path
    line: int  # of the opening fence, 1-based
    language: str
    lines: list[str]
    not_run: str | None  # the reason given, or None when it runs

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[Command]:
        if self.language == "console":
            return _console_commands(self.lines, self.line + 1)
        return _sh_commands(self.lines, self.line + 1)


def documents() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(document: Path) -> list[Block]:
    """Every ``sh`` and ``console`` block of a document, in order."""
    found: list[Block] = []
    lines = document.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if fence["info"] in RUN_LANGUAGES:
            marker = NOT_RUN.match(_previous_text(lines, i))
            found.append(
                Block(
                    document,
                    i + 1,
                    fence["info"],
                    lines[i + 1 : end],
                    marker["why"] if marker else None,
                )
            )
        i = end + 1
    return found


def _previous_text(lines: list[str], i: int) -> str:
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return lines[j].strip() if j >= 0 else ""


def _take_command(lines: list[str], i: int) -> tuple[str, int]:
    """The command starting at ``lines[i]`` with its continuation lines and here-documents;
    returns it and the index after it."""
    parts = [lines[i]]
    i += 1
    while parts[-1].endswith("\\") and i < len(lines):
        parts.append(lines[i])
        i += 1
    heredoc = _HEREDOC.search(parts[0])
    if heredoc:
        while i < len(lines):
            parts.append(lines[i])
            i += 1
            if parts[-1].strip() == heredoc["word"]:
                break
    return "\n".join(parts), i


def _sh_commands(lines: list[str], first: int) -> list[Command]:
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if text.startswith("# -> ") and commands:
            commands[-1].shown.append(text.removeprefix("# -> "))
            i += 1
        elif not text or text.startswith("#"):
            i += 1
        else:
            start = i
            command, i = _take_command(lines, i)
            commands.append(Command(command, first + start))
    return commands


def _console_commands(lines: list[str], first: int) -> list[Command]:
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("$ "):
            start = i
            lines[i] = lines[i].removeprefix("$ ")
            command, i = _take_command(lines, i)
            commands.append(Command(command, first + start))
        elif commands:
            commands[-1].shown.append(lines[i])
            i += 1
        else:
            raise ValueError(f"line {first + i}: console output before any `$ ` command")
    return commands


# -- shape ---------------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-f]{16,}")
_DIGITS = re.compile(r"\d+")


def text_pattern(shown: str) -> re.Pattern[str]:
    """A pattern for a line of shown text: ``...`` stands for anything, any run of digits for
    any number, a long hex string for any hex string, and any whitespace for any whitespace."""
    out: list[str] = []
    for piece in re.split(r"(\.\.\.|\s+|[0-9a-f]{16,}|\d+)", shown):
        if not piece:
            continue
        if piece == "...":
            out.append(".*?")
        elif piece.isspace():
            out.append(r"\s*")
        elif _HEX.fullmatch(piece):
            out.append("[0-9a-f]+")
        elif _DIGITS.fullmatch(piece):
            out.append(r"\d+")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out), re.DOTALL)


def _shown_json(shown: str) -> Any:
    """The shown text as JSON, ``{...}`` and ``[...]`` standing for any object or list and a
    member ``...`` for members not shown; None if it is not JSON."""
    text = shown.replace("{...}", '{"...": "..."}').replace("[...]", '["..."]')
    text = re.sub(r",\s*\.\.\.(?=\s*[,}\]])", ', "...": "..."', text)
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_mismatch(shown: Any, actual: Any, path: str = "$") -> str | None:
    """Where ``actual`` is not of the shape ``shown`` (None if it is): the same members (unless
    ``...`` stands for more), lists of the same length (unless ``[...]``), the same kinds of
    values, strings alike by :func:`text_pattern`, and numbers of either kind alike."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return f"{path}: an object was shown, got {type(actual).__name__}"
        open_ended = shown.get("...") == "..."
        named = {k: v for k, v in shown.items() if k != "..."}
        missing = [k for k in named if k not in actual]
        extra = [k for k in actual if k not in named]
        if missing or (extra and not open_ended):
            return f"{path}: members shown {sorted(named)}, got {sorted(actual)}"
        for key, value in named.items():
            problem = json_mismatch(value, actual[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return f"{path}: a list was shown, got {type(actual).__name__}"
        if shown == ["..."]:
            return None
        if len(shown) != len(actual):
            return f"{path}: {len(shown)} items shown, got {len(actual)}"
        for i, (s, a) in enumerate(zip(shown, actual, strict=True)):
            problem = json_mismatch(s, a, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(shown, str):
        if shown == "...":
            return None
        if not isinstance(actual, str) or not text_pattern(shown).fullmatch(actual):
            return f"{path}: {shown!r} was shown, got {actual!r}"
        return None
    if isinstance(shown, bool) or shown is None:
        return None if actual is shown else f"{path}: {shown!r} was shown, got {actual!r}"
    if isinstance(shown, int | float):
        ok = isinstance(actual, int | float) and not isinstance(actual, bool)
        return None if ok else f"{path}: a number was shown, got {actual!r}"
    return f"{path}: cannot compare {shown!r}"


def _http_mismatch(shown: list[str], actual: str) -> str | None:
    """``curl -i`` output: the status line, each header shown (any order), then the body."""
    head, _, body = actual.replace("\r\n", "\n").partition("\n\n")
    status, *headers = head.splitlines()
    # The status code exactly (digits elsewhere stand for any number).
    same_code = status.split()[1:2] == shown[0].split()[1:2]
    if not same_code or not text_pattern(shown[0]).fullmatch(status.strip()):
        return f"status line {shown[0]!r} was shown, got {status!r}"
    blank = shown.index("") if "" in shown else len(shown)
    for line in shown[1:blank]:
        name, _, value = line.partition(":")
        prefix = name.lower() + ":"
        got = [h.partition(":")[2].strip() for h in headers if h.lower().startswith(prefix)]
        if not any(text_pattern(value.strip()).fullmatch(g) for g in got):
            return f"header {line!r} was shown, got {got or 'none'}"
    return output_mismatch(shown[blank + 1 :], body) if blank < len(shown) else None


def output_mismatch(shown: list[str], actual: str) -> str | None:
    """Whether a command's output (stdout and stderr as a terminal shows them) has the shape
    the document shows: JSON compared as JSON, HTTP responses by status, headers and body,
    other text line by line with :func:`text_pattern`. None when it does."""
    if not shown:
        return None
    if shown[0].startswith("HTTP/"):
        return _http_mismatch(shown, actual)
    text = "\n".join(shown)
    expected = _shown_json(text)
    if expected is not None:
        try:
            got = json.loads(actual)
        except ValueError:
            return f"JSON was shown, got {actual[:300]!r}"
        return json_mismatch(expected, got)
    lines = [line for line in actual.splitlines() if line.strip()]
    if len(lines) != len(shown):
        return f"{len(shown)} lines shown, got {len(lines)}: {actual[:500]!r}"
    for want, got in zip(shown, lines, strict=True):
        if not text_pattern(want.strip()).fullmatch(got.strip()):
            return f"{want!r} was shown, got {got!r}"
    return None
