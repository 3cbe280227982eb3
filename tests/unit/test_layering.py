"""The layers hold: ``ledger/`` imports no outer layer or web library and no module of it takes
part in an import circle; modules and functions stay short enough to read at once, except the
few that ``docs/architecture.md`` lists with the reason each is longer."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the domain never imports (STYLE.md: every arrow points at ledger/).
FORBIDDEN_IN_LEDGER = (
    "api",
    "importers",
    "flask",
    "flask_smorest",
    "marshmallow",
    "webargs",
    "werkzeug",
    "requests",
)
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (a function-level import
    is still a dependency: it is how circles used to be hidden)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_ledger_imports_no_outer_layer_and_no_web_library() -> None:
    offences = [
        f"{name} imports {target}"
        for name, path in modules("ledger")
        for target in sorted(imported(path))
        if target.split(".")[0] in FORBIDDEN_IN_LEDGER
    ]
    assert offences == []


def test_no_ledger_module_takes_part_in_an_import_circle() -> None:
    graph = {name: set() for name, _ in modules("ledger")}
    for name, path in modules("ledger"):
        graph[name] = {t for t in imported(path) if t in graph and t != name}
    circles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]
    assert circles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in strongly_connected(graph) if len(c) > 1] == [{"a", "b", "c"}]


def allowed_longer() -> set[str]:
    """The places ``docs/architecture.md`` lists under "Longer than the limits", each as
    ``path`` (a module) or ``path:function``."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Longer than the limits", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `([^`]+)`", section, flags=re.MULTILINE))


def too_long() -> list[str]:
    found = []
    for package in ("ledger", "importers"):
        for _, path in modules(package):
            relative = str(path.relative_to(ROOT))
            source = path.read_text(encoding="utf-8")
            if len(source.splitlines()) > MAX_MODULE_LINES:
                found.append(relative)
            functions = (
                node
                for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            )
            for node in functions:
                if (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES:
                    found.append(f"{relative}:{node.name}")
    return found


def test_modules_and_functions_are_short_or_listed_with_a_reason() -> None:
    listed = allowed_longer()
    assert [place for place in too_long() if place not in listed] == []


def test_every_listed_exception_is_still_longer_than_the_limit() -> None:
    """The list shrinks when code does: an entry for something now short is stale."""
    assert sorted(allowed_longer() - set(too_long())) == []
