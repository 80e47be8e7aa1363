"""`watercooler user alias` and `watercooler user move` as IT runs them: a real process, a real
SQLite file. Both accounts live on this one division here (a move within a division needs no
HTTP); moves across divisions are proved in tests/federation_core/test_moves.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.watercooler.test_cli import config, wc

__all__ = ["config"]  # the fixture, shared with test_cli


def test_alias_then_move_from_the_cli(config: Path) -> None:
    def run(*args: str):  # type: ignore[no-untyped-def]
        return wc("--config", str(config), *args)

    assert run("user", "add", "alice").returncode == 0
    assert run("user", "add", "alice2").returncode == 0
    # Before the new account lists the old one, the move is refused and nothing changes
    refused = run("user", "move", "alice", "--to", "@alice2@eng.test")
    assert refused.returncode == 2
    assert "does not list @alice@eng.test as an alias" in refused.stderr

    added = run("user", "alias", "alice2", "--add", "https://eng.test/users/alice")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "alice2 is also known as https://eng.test/users/alice"
    assert run("user", "alias", "alice2").stdout.splitlines() == ["https://eng.test/users/alice"]

    moved = run("user", "move", "alice", "--to", "@alice2@eng.test")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines()[0] == (
        "alice moved to @alice2@eng.test (https://eng.test/users/alice2)"
    )
    again = run("user", "move", "alice", "--to", "alice2")
    assert again.returncode == 2 and "has moved already" in again.stderr
    nobody = run("user", "move", "ghost", "--to", "alice2")
    assert nobody.returncode == 2 and "no user 'ghost'" in nobody.stderr

    with sqlite3.connect(config.parent / "data" / "watercooler.sqlite3") as conn:
        moved_to = conn.execute(
            "SELECT t.username FROM accounts a JOIN accounts t ON t.id = a.moved_to_account_id"
            " WHERE a.username = 'alice'"
        ).fetchall()
        rows = conn.execute(
            "SELECT action, target, details, origin FROM audit_log"
            " WHERE action LIKE 'account.%' ORDER BY id"
        ).fetchall()
    assert moved_to == [("alice2",)]
    assert [(a, t, o) for a, t, _, o in rows] == [
        ("account.alias", "https://eng.test/users/alice2", "cli"),
        ("account.move", "https://eng.test/users/alice", "cli"),
    ]
    assert json.loads(rows[1][2]) == {"to": "https://eng.test/users/alice2", "followers_queued": 0}
