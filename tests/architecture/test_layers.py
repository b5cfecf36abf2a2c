"""The layers run one way and no module imports itself round a cycle.

Walks every import of the project's packages with :mod:`ast` (late imports inside functions
included: a late import still ties the modules together) so the layering cannot rot:

    campus_core  <  drivers  <  edge_agent  <  campus_ops

A package may import its own modules and those of the packages below it, never above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("campus_core", "drivers", "edge_agent", "campus_ops")
ALLOWED = {package: set(LAYERS[: index + 1]) for index, package in enumerate(LAYERS)}


def modules() -> dict[str, Path]:
    """Every module of the layered packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imported(module: str, path: Path, known: Iterable[str]) -> Iterator[tuple[str, int]]:
    """The project modules ``module`` imports, with the line of each import.

    ``from a.b import c`` names module ``a.b.c`` when that is a module, else ``a.b``.
    """
    names = set(known)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in names:
                    target = target.rpartition(".")[0]
                if target:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in names:
                    yield target, node.lineno
                elif base in names:
                    yield base, node.lineno


def graph() -> dict[str, dict[str, int]]:
    """Module -> {imported module: line}, project modules only, no self-edges."""
    found = modules()
    edges: dict[str, dict[str, int]] = {}
    for module, path in found.items():
        edges[module] = {}
        for target, line in imported(module, path, found):
            if target != module:
                edges[module].setdefault(target, line)
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def wrong_way(edges: dict[str, dict[str, int]]) -> list[str]:
    """Each import that reaches up a layer, as ``file:line: a imports b``."""
    found = []
    for module, targets in sorted(edges.items()):
        layer = module.partition(".")[0]
        for target, line in sorted(targets.items()):
            if target.partition(".")[0] not in ALLOWED[layer]:
                path = modules()[module].relative_to(ROOT)
                found.append(f"{path}:{line}: {module} imports {target}")
    return found


def crossings(edges: dict[str, dict[str, int]]) -> list[str]:
    """Imports between parts that must not know each other: a sink and a driver, two drivers."""
    found = []
    for module, targets in sorted(edges.items()):
        parts = module.split(".")
        for target, line in sorted(targets.items()):
            into = target.split(".")
            sink_to_driver = parts[:2] == ["edge_agent", "sinks"] and into[0] == "drivers"
            driver_to_driver = (
                parts[0] == into[0] == "drivers" and len(parts) > 1 and len(into) > 1 and parts[1] != into[1]
            )
            if sink_to_driver or driver_to_driver:
                found.append(f"{module}:{line} imports {target}")
    return found


def test_no_import_reaches_up_a_layer() -> None:
    assert wrong_way(graph()) == []


def test_sinks_import_no_driver_and_drivers_import_no_other_driver() -> None:
    # What two of them share belongs in campus_core (the MQTT broker settings, the naming rules).
    assert crossings(graph()) == []


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_walk_sees_cycles_and_wrong_arrows() -> None:
    edges = {
        "drivers.a": {"drivers.b": 1, "edge_agent.x": 2},
        "drivers.b": {"drivers.a": 3},
        "edge_agent.x": {"campus_core.y": 4},
        "campus_core.y": {},
    }
    assert cycles(edges) == [["drivers.a", "drivers.b"]]
    assert crossings(
        {"edge_agent.sinks.s": {"drivers.m.c": 5}, "drivers.a.x": {"drivers.b.y": 6, "drivers.a.z": 7}}
    ) == ["drivers.a.x:6 imports drivers.b.y", "edge_agent.sinks.s:5 imports drivers.m.c"]
    assert len([line for line in graph() if line]) > 50  # the walk found the project


def test_the_walk_resolves_relative_and_late_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("from . import b\ndef f():\n    from .c import d\n    import drivers.e\n")
    known = {"drivers.pkg.b", "drivers.pkg.c", "drivers.e"}
    assert sorted(imported("drivers.pkg.mod", source, known)) == [
        ("drivers.e", 4),
        ("drivers.pkg.b", 1),
        ("drivers.pkg.c", 3),
    ]
