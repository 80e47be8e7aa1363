"""`watercooler audit verify` and `audit export` against a real SQLite file, tampered with the
way someone holding the file would: the sqlite3 module, outside the app, triggers dropped
first. Each tampering fails verification naming the row; an untouched log verifies, and an
export re-verifies by hand from the file alone."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.watercooler.test_cli import wc
from watercooler.audit_events import operator_name
from watercooler.cli import main

Run = Callable[..., tuple[int, str, str]]
ROWS = 6


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """The CLI in this process (a subprocess costs seconds each): (status, stdout, stderr)."""
    monkeypatch.setattr(logging, "shutdown", lambda: None)  # main() ends with it

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


@pytest.fixture
def site(tmp_path: Path, run: Run) -> Path:
    """An instance's config whose audit log holds ROWS rows, all written by the CLI."""
    config = tmp_path / "wc.toml"
    assert run("--config", str(config), "init", "--domain", "eng.test", "--allow-http")[0] == 0
    for argv in (
        ("user", "add", "alice"),
        ("user", "add", "bob"),
        ("domain", "block", "spam.example"),
        ("peer", "add", "sales.test"),
        ("token", "create", "alice"),
        ("user", "disable", "bob"),
    ):
        status, _, err = run("--config", str(config), *argv)
        assert status == 0, err
    return config


def _db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config.parent / "data" / "watercooler.sqlite3")


def _rows(config: Path) -> list[tuple[int, str, str]]:
    with _db(config) as conn:
        return conn.execute("SELECT id, action, hash FROM audit_log ORDER BY id").fetchall()


def _tamper(config: Path, *statements: str) -> None:
    """What a person with the file and a SQLite shell can do."""
    conn = _db(config)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def _triggers(config: Path) -> list[str]:
    with _db(config) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
            )
        ]


def test_an_untouched_log_verifies_and_prints_its_head(site: Path, run: Run) -> None:
    rows = _rows(site)
    assert [action for _, action, _ in rows] == [
        "user.create",
        "user.create",
        "domain.block",
        "peer.add",
        "oauth.token_grant",
        "user.disable",
    ]
    with _db(site) as conn:
        token = conn.execute(
            "SELECT actor_account_id, actor_name, target, origin, details FROM audit_log"
            " WHERE id = 5"
        ).fetchone()
    assert token[0] is None and token[1] == operator_name() and token[2:4] == ("alice", "cli")
    assert json.loads(token[4]) == {
        "grant_type": "cli",
        "app": "Watercooler CLI",
        "app_id": None,
        "scopes": ["read"],
        "user": "alice",
    }
    status, out, _ = run("--config", str(site), "audit", "verify")
    assert status == 0, out
    head = rows[-1][2]
    assert out.splitlines()[0] == f"{ROWS} entries, chain intact, head {head}"
    assert f"--expect-head {ROWS}:{head}" in out
    # the head noted then still verifies after the log grew, either way it was noted
    assert run("--config", str(site), "user", "enable", "bob")[0] == 0
    for noted in (head, f"{ROWS}:{head}"):
        status, out, _ = run("--config", str(site), "audit", "verify", "--expect-head", noted)
        assert status == 0, out
        assert f"the noted head is row {ROWS}; 1 entries since" in out


def test_a_changed_row_is_named_and_the_dropped_trigger_too(site: Path, run: Run) -> None:
    _tamper(
        site,
        "DROP TRIGGER audit_log_no_update",
        """UPDATE audit_log SET details = '{"reason":"","severity":"silence"}' WHERE id = 3""",
    )
    status, out, _ = run("--config", str(site), "audit", "verify")
    assert status == 1
    assert "row 3: content changed" in out
    assert "triggers missing: audit_log_no_update" in out
    assert "chain intact" not in out


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(site: Path, run: Run) -> None:
    """Who knows the canonical form can rehash the row they changed; the next row still
    names the old hash."""
    with _db(site) as conn:
        prev_hash, at = conn.execute("SELECT prev_hash, at FROM audit_log WHERE id = 3").fetchone()
    content = {
        "action": "domain.block",
        "actor_account_id": None,
        "actor_name": "someone else",
        "at": at,
        "details": {"reason": "", "severity": "reject"},
        "id": 3,
        "origin": "cli",
        "target": "spam.example",
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    forged = hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()
    _tamper(
        site,
        "DROP TRIGGER audit_log_no_update",
        f"UPDATE audit_log SET actor_name = 'someone else', hash = '{forged}' WHERE id = 3",
    )
    status, out, _ = run("--config", str(site), "audit", "verify")
    assert status == 1
    assert "row 4: chain broken" in out


def test_a_deleted_middle_row_is_named(site: Path, run: Run) -> None:
    _tamper(site, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE id = 3")
    status, out, _ = run("--config", str(site), "audit", "verify")
    assert status == 1
    assert "row 3: row missing" in out and "jump from 2 to 4" in out
    assert "triggers missing: audit_log_no_delete" in out


def test_a_deleted_first_row_is_named(site: Path, run: Run) -> None:
    _tamper(site, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE id = 1")
    status, out, _ = run("--config", str(site), "audit", "verify")
    assert status == 1 and "row 1: row missing" in out


def test_cutting_the_newest_row_shows_only_against_a_noted_head(site: Path, run: Run) -> None:
    """A careful tamperer puts the trigger back; the shorter chain is intact in itself."""
    noted = _rows(site)[-1][2]
    [no_delete] = [sql for sql in _triggers(site) if "audit_log_no_delete" in sql]
    _tamper(
        site,
        "DROP TRIGGER audit_log_no_delete",
        f"DELETE FROM audit_log WHERE id = {ROWS}",
        no_delete,
    )
    status, out, _ = run("--config", str(site), "audit", "verify")
    assert status == 0 and out.startswith(f"{ROWS - 1} entries, chain intact")
    status, out, _ = run("--config", str(site), "audit", "verify", "--expect-head", noted)
    assert status == 1
    assert f"head missing: the noted head {noted} is in no row" in out
    with_row = f"{ROWS}:{noted}"
    status, out, _ = run("--config", str(site), "audit", "verify", "--expect-head", with_row)
    assert status == 1 and f"row {ROWS}: row missing" in out


def test_a_trigger_replaced_by_one_that_does_nothing_is_missing(site: Path, run: Run) -> None:
    _tamper(
        site,
        "DROP TRIGGER audit_log_no_update",
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END",
    )
    status, out, _ = run("--config", str(site), "audit", "verify")
    assert status == 1
    assert "triggers missing: audit_log_no_update" in out
    assert "row " not in out.split("NOT intact")[1].split("triggers missing")[0]


def test_a_bad_expected_head_is_refused(site: Path, run: Run) -> None:
    status, _, err = run("--config", str(site), "audit", "verify", "--expect-head", "xyz")
    assert status == 2 and "64 hex digits" in err


def _by_hand(path: Path) -> tuple[int, str]:
    """Re-verify an export as docs/admin.md tells a third party to: nothing of ours."""
    previous, count = "0" * 64, 0
    for text in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(text)
        content = {k: v for k, v in row.items() if k not in ("prev_hash", "hash")}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert text == json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row["prev_hash"] == previous, row["id"]
        digest = hashlib.sha256(f"{row['prev_hash']}\n{canonical}".encode()).hexdigest()
        assert digest == row["hash"], row["id"]
        previous, count = row["hash"], count + 1
    return count, previous


def test_export_re_verifies_from_the_file_alone(site: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    status, _, err = run("--config", str(site), "audit", "export", "--out", str(out))
    assert status == 0, err
    assert out.stat().st_mode & 0o077 == 0  # owner only
    count, head = _by_hand(out)
    rows = _rows(site)
    assert count == ROWS + 1 and head == rows[-1][2]
    last = json.loads(out.read_text().splitlines()[-1])
    assert last["action"] == "audit.export" and last["origin"] == "cli"
    assert last["details"] == {"filters": {}, "format": "jsonl", "to": f"file {out}"}
    assert f"exported {ROWS + 1} entries (up to row {ROWS + 1}, head {head})" in err
    assert set(json.loads(out.read_text().splitlines()[0])) == {
        "id",
        "at",
        "actor_account_id",
        "actor_name",
        "action",
        "target",
        "details",
        "origin",
        "prev_hash",
        "hash",
    }

    status, verified, _ = run("audit", "verify", "--file", str(out), "--expect-head", head)
    assert status == 0 and verified.startswith(f"{ROWS + 1} entries, chain intact, head {head}")

    # one changed byte in the file is found
    lines = out.read_text().splitlines()
    lines[2] = lines[2].replace("spam.example", "spam.exampl3")
    out.write_text("\n".join(lines) + "\n")
    status, verified, _ = run("audit", "verify", "--file", str(out))
    assert status == 1 and "row 3: content changed" in verified


def test_export_filters_by_action_prefix_and_dates(site: Path, run: Run) -> None:
    status, out, _ = run("--config", str(site), "audit", "export", "--action", "user.")
    assert status == 0
    actions = [json.loads(line)["action"] for line in out.splitlines()]
    assert actions == ["user.create", "user.create", "user.disable"]
    status, out, _ = run("--config", str(site), "audit", "export", "--since", "2999-01-01")
    assert status == 0 and out == ""
    status, out, _ = run(
        "--config", str(site), "audit", "export", "--until", "2000-01-01", "--action", "peer."
    )
    assert status == 0 and out == ""
    status, out, _ = run("--config", str(site), "audit", "export", "--text", "SPAM.example")
    found = [json.loads(line)["action"] for line in out.splitlines()]
    assert found == ["domain.block", "audit.export"]  # this export's row names the text too
    # the exports themselves are recorded, with their filters
    with _db(site) as conn:
        recorded = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'audit.export' ORDER BY id"
        ).fetchall()
    assert json.loads(recorded[0][0])["filters"] == {"action": "user."}
    assert json.loads(recorded[1][0])["filters"] == {"since": "2999-01-01T00:00:00+00:00"}
    bad = run("--config", str(site), "audit", "export", "--since", "last tuesday")
    assert bad[0] == 2 and "Not a date" in bad[2]


def test_verify_as_a_real_process(site: Path) -> None:
    result = wc("--config", str(site), "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{ROWS} entries, chain intact, head {_rows(site)[-1][2]}")
    _tamper(site, "DROP TRIGGER audit_log_chain")
    failed = wc("--config", str(site), "audit", "verify")
    assert failed.returncode == 1 and "triggers missing: audit_log_chain" in failed.stdout
