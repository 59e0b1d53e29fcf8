"""The web edge writes no SQL: users and sessions live behind ``trilink.store.users``, reports
and audit behind the store's own methods. Fails naming each statement or raw call found."""

from __future__ import annotations

import ast
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "src" / "trilink" / "web"
# Methods that hand SQL text to a database (the Store's generic ones and DB-API's).
RAW_SQL_CALLS = {"execute", "executemany", "executescript", "query", "_rows", "_run", "_run_many"}
SQL_STATEMENT = re.compile(
    r"^\s*(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX)|DROP\s+(TABLE|INDEX)|ALTER\s+TABLE)\b",
    re.IGNORECASE | re.DOTALL,
)


def sql_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(WEB.parent)}:{getattr(node, 'lineno', '?')}"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in RAW_SQL_CALLS
        ):
            found.append(f"{where} calls .{node.func.attr}()")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL_STATEMENT.match(node.value)
        ):
            found.append(f"{where} holds SQL {node.value[:50]!r}")
    return found


def test_the_checker_finds_sql() -> None:
    sample = WEB.parent / "store" / "users.py"  # the repository the web uses: SQL on purpose
    found = sql_in(sample)
    assert any("calls .query()" in f for f in found)
    assert any("calls .execute()" in f for f in found)
    assert any("holds SQL 'INSERT INTO users" in f for f in found)


def test_no_module_under_web_runs_sql() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) > 5
    offenders = [line for path in modules for line in sql_in(path)]
    assert offenders == [], "move these statements into trilink.store:\n" + "\n".join(offenders)
