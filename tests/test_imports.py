"""The product's imports: no domain package imports the web layer, and no module imports itself round a circle."""

from __future__ import annotations

import ast
from pathlib import Path

from send_inspection import PROJECT_ROOT

PACKAGES = ("send_inspection", "flows", "tasks")
WEB = "send_inspection.web"
# What may import the web layer: the command line and the rehearsal assemble the product around the web app (the
# rehearsal's scripted staff answer through it); the web layer itself.
MAY_IMPORT_WEB = ("send_inspection.web", "send_inspection.cli", "send_inspection.rehearsal")


def _modules() -> dict[str, Path]:
    """Return every module of the product by dotted name (the database migrations left out)."""
    found = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Return, for each module, the product's modules it imports (at the top or inside a function)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        imported: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported |= {resolve(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported |= {resolve(f"{node.module}.{alias.name}") or resolve(node.module) for alias in node.names}
        graph[name] = {m for m in imported if m is not None and m != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return each set of modules that import each other round a circle (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while (top := stack.pop()) != module:
                component.append(top)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_domain_package_imports_the_web_layer() -> None:
    """Only the web layer, the command line and the rehearsal import send_inspection.web."""
    wrong = sorted((module, other) for module, imported in import_graph().items() for other in imported
                   if (other == WEB or other.startswith(f"{WEB}.")) and not module.startswith(MAY_IMPORT_WEB))
    assert wrong == []


def test_no_module_imports_itself_round_a_circle() -> None:
    """No chain of imports, at the top of a module or inside a function, leads back where it started."""
    assert circles(import_graph()) == []


def test_the_walk_finds_imports_and_circles() -> None:
    """The walk sees the imports it is meant to see, and finds a circle where there is one."""
    graph = import_graph()
    assert "send_inspection.catalogue.phases" in graph["send_inspection.engine.annex_a"]
    assert "send_inspection.live.wiring" in graph["flows.phase_loop"]
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
