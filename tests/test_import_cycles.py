"""No module of Tidings imports, directly or through others, a module that imports it.

import-linter's `acyclic_siblings` contract (make lint) compares sibling packages; it
does not see a package's `__init__` and one of its own modules importing each other
(`from tidings.engine.bulk import audience` inside a module the package's `__init__`
imports). This reads every import, function-level ones too, the way Python resolves them.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "tidings").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, base] if base else up)
                # `from package import module` imports the package, then the module
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def test_no_import_cycle_among_the_modules() -> None:
    graph = _graph(_modules())
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise AssertionError(f"an import cycle: {' -> '.join(exc.args[1])}") from None


def test_the_graph_holds_the_edges_through_a_package() -> None:
    """A cycle through a package is seen only if `from package import x` counts as an
    import of the package: the edges the check relies on are there."""
    graph = _graph(_modules())
    assert "tidings.engine.bulk.chain" in graph["tidings.engine.bulk"]  # its __init__
    assert "tidings.store" in graph["tidings.engine.dispatch"]  # from tidings.store import
    assert "tidings.store.outbox" in graph["tidings.engine.dispatch"]
