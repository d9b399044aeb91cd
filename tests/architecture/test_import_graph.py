"""crmctl's packages import one another without cycles.

A cycle between packages is held together by import order (a module imported
at the bottom of another, a registration at import time): the first refactor
that moves a line breaks it. Every import counts here, at module level or
inside a function, under TYPE_CHECKING or not. Plugin-style tables of module
names (the sandbox's API modules, the built-in providers) are resolved at run
time and are the sanctioned way for a package to reach its subpackages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import crmctl

ROOT = Path(crmctl.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _node(module: str, is_package: bool) -> str:
    """The graph node of a module: its package, or itself for crmctl's top-level modules."""
    package = module if is_package else module.rpartition(".")[0]
    return module if package == "crmctl" else package


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _target(name: str) -> str:
    as_path = ROOT.parent.joinpath(*name.split("."))
    return _node(name, as_path.is_dir())


def package_graph() -> dict[str, dict[str, str]]:
    """node -> {imported node: one example 'module imports name'}."""
    graph: dict[str, dict[str, str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        source = _node(module, path.name == "__init__.py")
        edges = graph.setdefault(source, {})
        for name in _imports(path):
            if name.split(".")[0] != "crmctl":
                continue
            target = _target(name)
            if target != source:
                edges.setdefault(target, f"{module} imports {name}")
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_package_imports_another_that_imports_it_back() -> None:
    graph = package_graph()
    report = [
        f"{' <-> '.join(component)}: "
        + "; ".join(graph[a][b] for a in component for b in component if b in graph.get(a, {}))
        for component in cycles(graph)
    ]
    assert report == []


def test_the_checker_finds_a_cycle() -> None:
    graph = {"a": {"b": "a imports b"}, "b": {"c": "…"}, "c": {"a": "…"}, "d": {"a": "…"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_function_level_and_subpackage_imports() -> None:
    graph = package_graph()
    # the sandbox's Salesforce API builds on the sandbox server (one way only)
    assert "crmctl.sandbox" in graph["crmctl.sandbox.salesforce"]
    assert "crmctl.sandbox.salesforce" not in graph["crmctl.sandbox"]
    assert "crmctl.providers" in graph["crmctl.providers.salesforce"]
    assert "crmctl.providers.salesforce" not in graph["crmctl.providers"]
