"""`watercooler account ...` as an operator runs it: a real process, a real SQLite file;
each change is an audit row with origin 'cli', a suspended user cannot sign in, and an
unknown account is refused on stderr."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.watercooler.test_cli import config, wc

__all__ = ["config"]  # the fixture, shared with test_cli


def test_warn_limit_and_suspend_from_the_shell(config: Path) -> None:
    def account(*args: str) -> tuple[int, str, str]:
        done = wc("--config", str(config), "account", *args)
        return done.returncode, done.stdout, done.stderr

    assert wc("--config", str(config), "user", "add", "dana").returncode == 0
    assert account("warn", "dana", "--text", "Please stop") == (0, "dana\twarned\n", "")
    assert account("limit", "dana")[:2] == (0, "dana\tlimited\n")
    assert account("limit", "dana")[:2] == (0, "dana\tunchanged\n")
    assert account("suspend", "dana")[:2] == (0, "dana\tsuspended\n")
    code, shown, _ = account("show", "@dana")
    assert code == 0
    first, warning = shown.splitlines()
    assert first.startswith("dana\t") and first.endswith("\tlimited,suspended")
    assert warning.startswith("warning\t") and warning.endswith("\tnone\tPlease stop")
    with sqlite3.connect(config.parent / "data" / "watercooler.sqlite3") as conn:
        disabled = conn.execute(
            "SELECT u.disabled_at IS NOT NULL FROM users u JOIN accounts a ON a.id = u.account_id"
            " WHERE a.username = 'dana'"
        ).fetchone()
    assert disabled == (1,)
    assert account("unsuspend", "dana")[:2] == (0, "dana\tunsuspended\n")
    assert account("unlimit", "dana")[:2] == (0, "dana\tunlimited\n")

    code, _, error = account("suspend", "ghost@b.test")
    assert code == 2 and "No account 'ghost@b.test'" in error
    code, _, error = account("warn", "dana", "--text", "   ")
    assert code == 2 and "needs a text" in error

    with sqlite3.connect(config.parent / "data" / "watercooler.sqlite3") as conn:
        rows = conn.execute(
            "SELECT action, target, origin FROM audit_log WHERE action LIKE 'account.%' ORDER BY id"
        ).fetchall()
        still_disabled = conn.execute(
            "SELECT u.disabled_at IS NOT NULL FROM users u JOIN accounts a ON a.id = u.account_id"
            " WHERE a.username = 'dana'"
        ).fetchone()
    assert rows == [
        ("account.warn", "dana", "cli"),
        ("account.limit", "dana", "cli"),
        ("account.suspend", "dana", "cli"),
        ("account.unsuspend", "dana", "cli"),
        ("account.unlimit", "dana", "cli"),
    ]
    assert still_disabled == (0,)
