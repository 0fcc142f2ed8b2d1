"""The layering rules of ARCHITECTURE.md, checked on the source: the import graph of src/ has no
cycle; only the CLI's --sandbox wiring imports the sandbox; the sandbox knows nothing of the
tool but the config it is given; only the CLI reaches the HTTP client, and the rest of the tool
at most its values; no module is over 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "ta_steget_cli"
MAX_LINES = 600

# The CLI's --sandbox wiring: the only modules outside sandbox/ that may import it.
SANDBOX_WIRING = {f"{PACKAGE}.cli.runtime", f"{PACKAGE}.cli.sandbox"}
# What the sandbox may import of the tool: the config it builds for --sandbox.
SANDBOX_MAY_USE = {f"{PACKAGE}.config"}
# What of the SuperOffice client modules outside cli/ and superoffice/ may import.
CLIENT_FACE_FOR_SERVICES = {f"{PACKAGE}.superoffice.values"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((SRC / PACKAGE).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of the package `name` imports, at the top, in functions or for typing."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
                elif target in known:
                    found.add(target)
    return found - {name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _in(name: str, package: str) -> bool:
    return name == f"{PACKAGE}.{package}" or name.startswith(f"{PACKAGE}.{package}.")


def forbidden_arrows(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            if _in(source, "sandbox"):
                if not _in(target, "sandbox") and target not in SANDBOX_MAY_USE:
                    wrong.append(f"{source} -> {target}: the sandbox shares no code with the tool")
            elif _in(target, "sandbox") and source not in SANDBOX_WIRING:
                wrong.append(f"{source} -> {target}: only the --sandbox wiring imports it")
            elif (
                _in(target, "superoffice")
                and not _in(source, "superoffice")
                and not _in(source, "cli")
                and target not in CLIENT_FACE_FOR_SERVICES
            ):
                wrong.append(f"{source} -> {target}: only the CLI hands the client around")
    return wrong


def test_the_import_graph_has_no_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_no_arrow_crosses_a_layer_it_must_not() -> None:
    assert forbidden_arrows(import_graph()) == []


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_is_over_600_lines(name: str) -> None:
    lines = len(_modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by job"


def test_the_checks_catch_what_they_are_for() -> None:
    """The checker itself: a cycle, an arrow into the sandbox, one into the client."""
    cycle = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(cycle) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    bad = {
        f"{PACKAGE}.config": {f"{PACKAGE}.sandbox.ids"},
        f"{PACKAGE}.register": {f"{PACKAGE}.superoffice.client", f"{PACKAGE}.superoffice.values"},
        f"{PACKAGE}.sandbox.api": {f"{PACKAGE}.filters"},
        f"{PACKAGE}.cli.overdue": {f"{PACKAGE}.superoffice"},
    }
    assert forbidden_arrows(bad) == [
        f"{PACKAGE}.config -> {PACKAGE}.sandbox.ids: only the --sandbox wiring imports it",
        f"{PACKAGE}.register -> {PACKAGE}.superoffice.client: only the CLI hands the client around",
        f"{PACKAGE}.sandbox.api -> {PACKAGE}.filters: the sandbox shares no code with the tool",
    ]
    graph = import_graph()
    assert f"{PACKAGE}.superoffice.client" in graph[f"{PACKAGE}.superoffice"]
    assert f"{PACKAGE}.cli.app" in graph[f"{PACKAGE}.cli"]
