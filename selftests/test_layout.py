"""The layout holds: each fixtures/ package imports only what its __init__ says it may, no
package imports another's private names, no import cycle between packages, gates import no
gate module, and modules and functions stay short enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
# package -> the fixtures packages (and top-level modules) it may import; the flow is
# profile -> stack -> probes/backends -> gates -> verdict -> evidence.
ALLOWED = {
    "errors": set(), "runmode": set(),
    "profile": {"errors"},
    "sqlite": {"errors"},
    "secrets": {"errors"},
    "backends": {"errors", "profile", "sqlite", "runmode"},
    "probes": {"errors", "profile", "backends"},
    "stack": {"errors", "runmode", "profile", "backends", "probes", "evidence", "verdict"},
    "gatekit": {"errors", "profile", "backends", "probes", "sqlite", "secrets"},
    "verdict": {"errors", "runmode", "profile"},
    "evidence": {"errors", "runmode", "profile", "verdict"},
}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 350, 50


def _modules() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.py"))


def _package(path: Path) -> str:
    rel = path.relative_to(FIXTURES)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every fixtures import in PATH."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fixtures"):
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("fixtures")]
    return out


def _target(module: str, names: list[str]) -> list[str]:
    parts = module.split(".")
    if len(parts) > 1:
        return [parts[1]]
    return names  # from fixtures import x


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_follow_the_flow(path: Path) -> None:
    own = _package(path)
    for module, names in _imports(path):
        for pkg in _target(module, names):
            if pkg == own or pkg == "__init__":
                continue
            assert pkg in ALLOWED[own], f"{path.relative_to(REPO)} ({own}) imports {module} ({pkg}); " \
                                        f"{own} may import {sorted(ALLOWED[own])}"
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{path.relative_to(REPO)} imports private names {private} of {module}"


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for path in _modules():
        own = _package(path)
        for module, names in _imports(path):
            graph.setdefault(own, set()).update(p for p in _target(module, names) if p != own)

    def reach(start: str, seen: set[str]) -> set[str]:
        for nxt in graph.get(start, set()) - seen:
            seen.add(nxt)
            reach(nxt, seen)
        return seen

    cycles = sorted(p for p in graph if p in reach(p, set()))
    assert not cycles, f"packages in an import cycle: {cycles}"


@pytest.mark.parametrize("path", sorted((REPO / "gates").glob("test_*.py")), ids=lambda p: p.name)
def test_gate_modules_import_no_gate_module(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("gates")]
    assert not bad, f"{path.name} imports {bad}: shared logic belongs in fixtures/"


@pytest.mark.parametrize("path", [*_modules(), *sorted((REPO / "gates").glob("*.py"))],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_modules_and_functions_stay_short(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.relative_to(REPO)}: {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {length} lines"
