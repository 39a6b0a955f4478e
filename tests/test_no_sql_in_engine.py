"""The engine says what it wants of the store, not how the database does it: no module
of `engine/` holds SQL text or builds SQL (store/AGENTS.md: SQL lives in `store/`,
behind named functions). Import-linter cannot say this (it sees `from sqlalchemy import
select` as an import of `sqlalchemy`, which the engine needs for `Connection`), so the
modules are read with `ast`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "src" / "tidings" / "engine"
# What the engine may take from SQLAlchemy: types it passes to the store.
TYPES = frozenset({"Connection", "Engine"})
SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b|\b(SELECT .* FROM|INSERT INTO|DELETE FROM|"
    r"UPDATE \w+ SET|WHERE|ORDER BY|GROUP BY|JOIN)\b"
)


def _modules() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (prose may name SQL)."""
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out.add(id(value))
    return out


def sql_in(source: str) -> list[str]:
    """What in `source` is SQL text or builds SQL, one line each."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names = {a.name for a in node.names}
            if node.module != "sqlalchemy" or names - TYPES:
                found.append(f"{where}: from {node.module} import {', '.join(sorted(names))}")
        elif isinstance(node, ast.Import):
            found += [
                f"{where}: import {a.name}" for a in node.names if a.name.startswith("sqlalchemy")
            ]
        elif isinstance(node, ast.Attribute) and node.attr == "exec_driver_sql":
            found.append(f"{where}: .exec_driver_sql")
        elif isinstance(node, ast.Call) and "text" in (
            getattr(node.func, "id", None),
            getattr(node.func, "attr", None),
        ):
            found.append(f"{where}: text(...)")
        elif isinstance(node, ast.JoinedStr):
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and SQL.search(str(first.value)):
                found.append(f"{where}: {str(first.value)[:40]!r}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docs
            and SQL.search(node.value)
        ):
            found.append(f"{where}: {node.value[:40]!r}")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_the_engine_holds_no_sql(path: Path) -> None:
    found = sql_in(path.read_text())
    assert not found, f"SQL in engine/{path.relative_to(ENGINE)}: {found}"


def test_the_check_sees_sql() -> None:
    """Each kind of SQL the check looks for is found (a check that cannot fail proves
    nothing)."""
    assert sql_in("from sqlalchemy import Connection, select\n")
    assert sql_in("from sqlalchemy.sql import text\n")
    assert sql_in("import sqlalchemy\n")
    assert sql_in("conn.exec_driver_sql(q)\n")
    assert sql_in("q = text(s)\n")
    assert sql_in("q = 'SELECT id FROM inbox'\n")
    assert sql_in("q = f'UPDATE flows SET a = {p}'\n")
    assert sql_in("q = f' AND x = 1 WHERE {p}'\n")
    assert not sql_in('def f() -> None:\n    """Update the rows WHERE asked."""\n')
    assert sql_in("q = sqlalchemy.text(s)\n")
    assert not sql_in("from sqlalchemy import Connection\nx = 'select a flow'\n")
    assert not sql_in("text = content.text\n")
