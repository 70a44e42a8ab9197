"""The import boundaries the layout promises, read from every module's source (imports inside
functions included): product code never imports the simulator, the domain imports nothing but
itself, the pipelines never import the service, and no two packages import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_TREES = ("pipelines", "serving", "cli", "monitoring")
SIMULATOR = "pipelines.world"
# What may import the simulator besides the simulator itself: the CLI's world commands (and,
# as they land, the experiments that run in it). Benchmarks and tests are not product code.
MAY_IMPORT_SIMULATOR = ("pipelines.world", "pipelines.experiments", "cli.world")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module name `path` imports, with `from a import b` counted as a.b when a.b is a
    module (and as a otherwise)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if _is_module(candidate):
                    out.add(candidate)
    return out


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _modules() -> dict[str, set[str]]:
    mods = {}
    for tree in PRODUCT_TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if "gen" in path.relative_to(ROOT).parts:  # generated protobuf code
                continue
            mods[_module_name(path)] = {m for m in _imports(path)
                                        if m.split(".")[0] in PRODUCT_TREES}
    return mods


def _package(module: str) -> str:
    """pipelines.<part> for the pipelines, the top folder for the rest."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "pipelines" and len(parts) > 1 else parts[0]


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


MODULES = _modules()


def test_the_walk_sees_the_whole_product():
    assert len(MODULES) > 80
    assert "pipelines.domain.actions" in MODULES and "serving.engine" in MODULES


def test_product_code_never_imports_the_simulator():
    offenders = sorted(f"{m} imports {i}" for m, imports in MODULES.items()
                       if not _within(m, MAY_IMPORT_SIMULATOR)
                       for i in imports if _within(i, (SIMULATOR,)))
    assert offenders == []


def test_the_domain_imports_only_itself():
    offenders = sorted(f"{m} imports {i}" for m, imports in MODULES.items()
                       if _within(m, ("pipelines.domain",))
                       for i in imports if not _within(i, ("pipelines.domain",)))
    assert offenders == []


def test_the_pipelines_never_import_the_service_or_the_cli():
    offenders = sorted(f"{m} imports {i}" for m, imports in MODULES.items()
                       if _within(m, ("pipelines",))
                       for i in imports if _within(i, ("serving", "monitoring", "cli")))
    assert offenders == []


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for m, imports in MODULES.items():
        src = _package(m)
        graph.setdefault(src, set()).update(
            _package(i) for i in imports if _package(i) != src and i != "pipelines")
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_two_packages_import_each_other():
    cycle = _cycle(_package_graph())
    assert cycle is None, " → ".join(cycle)


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycle(graph) == expected
