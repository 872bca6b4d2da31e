"""No import cycles between the modules of the tflbench package.

Every module is parsed (not imported). Imports at module level (including those inside ``try``
or ``if`` blocks, but not under ``if TYPE_CHECKING:``) and imports inside functions are
collected as two kinds of edges. Module-level imports run when the module is imported, so a cycle
among them breaks depending on which module is imported first; function-level imports are
deferred, but a cycle through them still means two modules depend on each other. Both graphs
must be acyclic.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import tflbench

PACKAGE_DIR = Path(tflbench.__file__).parent
MODULE, FUNCTION = "module", "function"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = ["tflbench", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The package module ``name`` refers to (``tflbench.x.y.Name`` -> ``tflbench.x.y``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> Iterator[tuple[str, str, int]]:
    """``(target module, kind, line)`` of every import of a tflbench module in ``path``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def targets(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (t := _resolve(alias.name)) is not None:
                    yield t
            return
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            if (t := _resolve(f"{base}.{alias.name}")) is not None:
                yield t

    def walk(node: ast.AST, kind: str) -> Iterator[tuple[str, str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                yield from (e for stmt in child.orelse for e in walk_one(stmt, kind))
                continue
            yield from walk_one(child, kind)

    def walk_one(node: ast.AST, kind: str) -> Iterator[tuple[str, str, int]]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for t in targets(node):
                if t != module:
                    yield t, kind, node.lineno
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            kind = FUNCTION
        yield from walk(node, kind)

    yield from walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), MODULE)


def import_graph(kinds: frozenset[str]) -> dict[str, dict[str, str]]:
    """``{module: {imported module: "file:line"}}`` over the imports of ``kinds``."""
    graph: dict[str, dict[str, str]] = {m: {} for m in MODULES}
    for module, path in MODULES.items():
        for target, kind, line in _imports(module, path):
            if kind in kinds:
                graph[module].setdefault(target, f"{path.relative_to(PACKAGE_DIR.parent)}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def describe(cycle: list[str], graph: dict[str, dict[str, str]]) -> str:
    return "\n".join(f"  {a} -> {b}  ({graph[a][b]})"
                     for a, b in zip(cycle[:-1], cycle[1:], strict=True))


def test_every_module_is_found_and_parsed() -> None:
    assert "tflbench.data.sources" in MODULES and "tflbench.cli" in MODULES
    graph = import_graph(frozenset({MODULE, FUNCTION}))
    assert "tflbench.data.base" in graph["tflbench.data.sources"]


@pytest.mark.parametrize("kinds", [frozenset({MODULE}), frozenset({MODULE, FUNCTION})],
                         ids=["module-level", "module-and-function-level"])
def test_no_import_cycles(kinds: frozenset[str]) -> None:
    graph = import_graph(kinds)
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle ({', '.join(sorted(kinds))} imports):\n" + describe(
        cycle, graph)


def test_the_checker_reports_a_cycle() -> None:
    graph = {"a": {"b": "a.py:1"}, "b": {"c": "b.py:2"}, "c": {"a": "c.py:3"}, "d": {}}
    cycle = find_cycle(graph)
    assert cycle == ["a", "b", "c", "a"]
    assert describe(cycle, graph).splitlines()[-1] == "  c -> a  (c.py:3)"
    assert find_cycle({"a": {"b": "x"}, "b": {}}) is None
