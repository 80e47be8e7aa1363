"""Imports point the way DESIGN.md says: store and federation are leaves, outbox uses them,
inbox uses outbox, and only the app shell (watercooler) wires everything."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "store": set(),
    "federation": set(),
    "outbox": {"federation", "store"},
    "inbox": {"outbox", "federation", "store"},
    "watercooler": {"inbox", "outbox", "federation", "store"},
}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_imports_point_one_way() -> None:
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imports_of(path) & set(ALLOWED):
                if name != package and name not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_sql_lives_in_store() -> None:
    sql = re.compile(r"^\s*(SELECT\s|INSERT INTO\s|UPDATE\s+\w+\s+SET\s|DELETE FROM\s|CREATE\s)")
    offenders = []
    for package in ("watercooler", "federation", "inbox", "outbox"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if sql.match(node.value):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_layer_test_sees_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from watercooler.app import create_app\nimport store.db\n")
    assert imports_of(bad) == {"watercooler", "store"}
