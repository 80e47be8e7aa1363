"""`watercooler user role` as an operator runs it: a real process, a real SQLite file; each
change is a row of the audit log, an unknown role or user is refused on stderr."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.watercooler.test_cli import config, wc

__all__ = ["config"]  # the fixture, shared with test_cli


def test_granting_and_taking_the_announcer_role(config: Path) -> None:
    assert wc("--config", str(config), "user", "add", "dana").returncode == 0
    granted = wc("--config", str(config), "user", "role", "dana", "--add", "announcer")
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.splitlines() == ["granted announcer: dana", "dana: announcer"]
    again = wc("--config", str(config), "user", "role", "dana", "--add", "announcer")
    assert again.stdout.splitlines() == ["dana already has announcer", "dana: announcer"]
    taken = wc("--config", str(config), "user", "role", "dana", "--remove", "announcer")
    assert taken.stdout.splitlines() == ["took away announcer: dana", "dana: no roles"]

    unknown = wc("--config", str(config), "user", "role", "dana", "--add", "emperor")
    assert unknown.returncode == 2 and "Unknown role 'emperor'" in unknown.stderr
    nobody = wc("--config", str(config), "user", "role", "ghost", "--add", "announcer")
    assert nobody.returncode == 2 and "no user 'ghost'" in nobody.stderr

    with sqlite3.connect(config.parent / "data" / "watercooler.sqlite3") as conn:
        rows = conn.execute(
            "SELECT action, target, details, origin FROM audit_log WHERE action LIKE 'user.%role'"
            " ORDER BY id"
        ).fetchall()
        held = conn.execute("SELECT count(*) FROM user_roles").fetchone()
    assert rows == [
        ("user.grant_role", "dana", '{"role":"announcer"}', "cli"),
        ("user.revoke_role", "dana", '{"role":"announcer"}', "cli"),
    ]
    assert held == (0,)
