"""eDiscovery, as Legal gets it from the admin API, the admin page and the command line:
every status the division holds (local and remote, direct messages with their recipients),
filtered by query and dates, JSON lines and CSV parsed back, refused to non-admins, and
each export in the audit log."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from store import audit, users
from tests.rig import Rig
from tests.watercooler.conftest import post
from tests.web.signing import csrf_token, sign_in
from watercooler.config import load_config
from watercooler.ediscovery import CSV_COLUMNS

PASSWORD = "password123"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def jsonl(answer: httpx.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return [json.loads(line) for line in answer.text.splitlines()]


async def _world(rig: Rig) -> dict[str, dict[str, Any]]:
    """On a.test: alice's posts of several visibilities (one a direct message to bob), and
    bob's public post and direct message to alice, received from b.test."""
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    found = await alice.get("/api/v1/accounts/lookup", params={"acct": "bob@b.test"})
    assert (await alice.post(f"/api/v1/accounts/{found.json()['id']}/follow")).status_code == 200
    await rig.drain()
    made = {
        "public": await post(alice, "contract alpha for everyone"),
        "private": await post(alice, "followers only musings", visibility="private"),
        "direct": await post(alice, "@bob@b.test the contract secret", visibility="direct"),
        "formula": await post(alice, '=HYPERLINK("http://evil") contract'),
        "bob_public": await post(bob, "bob's contract news"),
        "bob_direct": await post(bob, "@alice@a.test lunch?", visibility="direct"),
    }
    await rig.drain()
    await alice.aclose()
    await bob.aclose()
    return made


async def test_admin_api_exports_everything_with_recipients(rig: Rig) -> None:
    made = await _world(rig)
    admin = await rig.admin_client("a.test")
    # Given everything a.test holds, When the admin exports with an empty query
    rows = jsonl(await admin.get("/api/v1/admin/ediscovery"))
    by_uri = {row["uri"]: row for row in rows}
    # Then every status is there, local and remote, direct messages included
    assert {m["uri"] for m in made.values()} <= by_uri.keys()
    direct = by_uri[made["direct"]["uri"]]
    assert direct["visibility"] == "direct" and direct["author_acct"] == "alice@a.test"
    assert direct["to"] == ["http://b.test/users/bob"] and PUBLIC not in direct["cc"]
    assert direct["recipients_source"] == "stored"
    assert direct["direct_recipients"] == ["bob@b.test"] == direct["mentions"]
    assert direct["text"] == "@bob@b.test the contract secret"
    assert "h-card" in direct["content"]
    received = by_uri[made["bob_direct"]["uri"]]
    assert received["local"] is False and received["visibility"] == "direct"
    assert received["author_uri"] == "http://b.test/users/bob"
    assert "http://a.test/users/alice" in received["to"] + received["cc"]
    assert received["recipients_source"] == "stored"
    assert received["direct_recipients"] == ["alice@a.test"]
    assert by_uri[made["private"]["uri"]]["to"] == ["http://a.test/users/alice/followers"]

    # a query and a date range narrow it
    contract = jsonl(await admin.get("/api/v1/admin/ediscovery", params={"q": "contract"}))
    wanted = {made[k]["uri"] for k in ("public", "direct", "formula", "bob_public")}
    assert {row["uri"] for row in contract} == wanted
    author = jsonl(
        await admin.get("/api/v1/admin/ediscovery", params={"q": "contract from:bob@b.test"})
    )
    assert [row["uri"] for row in author] == [made["bob_public"]["uri"]]
    past = await admin.get("/api/v1/admin/ediscovery", params={"until": "2001-01-01"})
    assert jsonl(past) == [] and past.headers["x-ediscovery-count"] == "0"
    newest = max(rows, key=lambda row: row["created_at"])
    since = await admin.get("/api/v1/admin/ediscovery", params={"since": newest["created_at"]})
    assert [row["uri"] for row in jsonl(since)] == [newest["uri"]]
    today = datetime.now(UTC).date()
    day = await admin.get(
        "/api/v1/admin/ediscovery",
        params={"q": "contract", "since": str(today), "until": str(today)},
    )
    assert {row["uri"] for row in jsonl(day)} == wanted

    bad = await admin.get("/api/v1/admin/ediscovery", params={"since": "yesterday"})
    assert bad.status_code == 422
    wrong = await admin.get("/api/v1/admin/ediscovery", params={"format": "xml"})
    assert wrong.status_code == 422

    # every export is in the audit log, with its query, range, format and count
    async with rig.services("a.test").db.read() as conn:
        entries = [e for e in await audit.page(conn) if e.action == "ediscovery.export"]
    assert len(entries) == 6  # the two refused requests wrote nothing
    first = entries[-1]
    assert first.origin == "api" and first.actor_name == "admin"
    assert first.details == {
        "query": "",
        "since": None,
        "until": None,
        "format": "jsonl",
        "count": len(rows),
    }
    assert entries[-2].details["query"] == "contract" and entries[-2].details["count"] == 4
    await admin.aclose()


async def test_copies_kept_by_a_legal_hold_are_exported_until_it_is_released(rig: Rig) -> None:
    made = await _world(rig)
    admin = await rig.admin_client("a.test")
    held = await admin.post(
        "/api/v1/admin/legal_holds", json={"account": "alice", "reason": "Case 7"}
    )
    assert held.status_code == 200, held.text
    alice = await rig.api_client("a.test", "alice")
    # Given alice deletes two posts under the hold (one of them a direct message)
    for name in ("public", "direct"):
        gone = await alice.delete(f"/api/v1/statuses/{made[name]['id']}")
        assert gone.status_code == 200
        assert (await alice.get(f"/api/v1/statuses/{made[name]['id']}")).status_code == 404
    await rig.drain()  # the search indexer has seen the deletions too
    # When the admin exports, Then the kept copies come after the live rows, marked deleted
    rows = jsonl(await admin.get("/api/v1/admin/ediscovery"))
    by_uri = {row["uri"]: row for row in rows}
    kept = by_uri[made["direct"]["uri"]]
    assert kept["deleted_at"] is not None and kept["held_by"] == [int(held.json()["id"])]
    assert kept["text"] == "@bob@b.test the contract secret"
    assert kept["to"] == ["http://b.test/users/bob"] and kept["visibility"] == "direct"
    assert by_uri[made["private"]["uri"]]["deleted_at"] is None
    assert by_uri[made["private"]["uri"]]["held_by"] == []
    # a query finds them through the index rows kept with the copies
    contract = jsonl(await admin.get("/api/v1/admin/ediscovery", params={"q": "contract"}))
    assert {made["public"]["uri"], made["direct"]["uri"]} <= {row["uri"] for row in contract}
    assert "deleted_at" in next(
        csv.DictReader(
            io.StringIO(
                (await admin.get("/api/v1/admin/ediscovery", params={"format": "csv"})).text
            )
        )
    )
    # and nobody's ordinary search does
    found = await alice.get("/api/v2/search", params={"q": "secret", "type": "statuses"})
    assert found.json()["statuses"] == []
    # When the hold is released, Then the copies and their index rows are gone
    released = await admin.post(f"/api/v1/admin/legal_holds/{held.json()['id']}/release")
    assert released.status_code == 200, released.text
    after = jsonl(await admin.get("/api/v1/admin/ediscovery", params={"q": "contract"}))
    assert not {made["public"]["uri"], made["direct"]["uri"]} & {row["uri"] for row in after}
    await alice.aclose()
    await admin.aclose()


async def test_csv_export_is_parsed_back_and_defused(rig: Rig) -> None:
    made = await _world(rig)
    admin = await rig.admin_client("a.test")
    answer = await admin.get("/api/v1/admin/ediscovery", params={"q": "contract", "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(answer.text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = {row["uri"]: row for row in reader}
    assert len(rows) == 4
    direct = rows[made["direct"]["uri"]]
    assert direct["visibility"] == "direct" and direct["direct_recipients"] == "bob@b.test"
    assert direct["to"] == "http://b.test/users/bob"
    # a formula in a post is exported as text
    formula = rows[made["formula"]["uri"]]
    assert formula["text"].startswith("'=HYPERLINK(")
    await admin.aclose()


async def test_non_admins_and_anonymous_are_refused(rig: Rig) -> None:
    await _world(rig)
    employee = await rig.api_client("a.test", "olga", scopes="read write admin:read")
    refused = await employee.get("/api/v1/admin/ediscovery")
    assert refused.status_code == 403
    async with rig.client("a.test") as anonymous:
        assert (await anonymous.get("/api/v1/admin/ediscovery")).status_code == 401
        # and the page: sign-in first, then 403 for an employee
        page = await anonymous.get("/web/admin/ediscovery")
        assert page.status_code == 303 and "/web/sign_in" in page.headers["location"]
        assert (await sign_in(anonymous, "olga", PASSWORD)).status_code == 303
        assert (await anonymous.get("/web/admin/ediscovery")).status_code == 403
        posted = await anonymous.post("/web/admin/ediscovery", data={"query": ""})
        assert posted.status_code == 403
    without_scope = await rig.api_client("a.test", "admin2", scopes="read")
    async with rig.services("a.test").db.transaction() as conn:
        admin2 = await users.get_by_username(conn, "admin2")
        assert admin2 is not None
        await users.set_admin(conn, admin2.id, True)
    assert (await without_scope.get("/api/v1/admin/ediscovery")).status_code == 403
    async with rig.services("a.test").db.read() as conn:
        assert not [e for e in await audit.page(conn) if e.action == "ediscovery.export"]
    await employee.aclose()
    await without_scope.aclose()


async def test_admin_page_streams_the_export_with_csrf(rig: Rig) -> None:
    made = await _world(rig)
    await rig.admin_client("a.test", "root")
    async with rig.client("a.test") as browser:
        assert (await sign_in(browser, "root", PASSWORD)).status_code == 303
        page = await browser.get("/web/admin/ediscovery")
        assert page.status_code == 200 and "eDiscovery" in page.text
        forged = await browser.post("/web/admin/ediscovery", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        token = csrf_token(page)
        bad = await browser.post(
            "/web/admin/ediscovery", data={"csrf_token": token, "since": "not a day"}
        )
        assert bad.status_code == 422 and "Not a date" in bad.text
        page = await browser.get("/web/admin/ediscovery")
        answer = await browser.post(
            "/web/admin/ediscovery",
            data={"csrf_token": csrf_token(page), "query": "lunch", "format": "jsonl"},
        )
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    assert [row["uri"] for row in jsonl(answer)] == [made["bob_direct"]["uri"]]
    async with rig.services("a.test").db.read() as conn:
        [entry] = [e for e in await audit.page(conn) if e.action == "ediscovery.export"]
    assert entry.origin == "web" and entry.actor_name == "root"
    assert entry.details["query"] == "lunch" and entry.details["count"] == 1


def wc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watercooler", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_cli_ediscovery_and_archive_are_audited(tmp_path: Path) -> None:
    path = tmp_path / "wc.toml"
    assert wc("--config", str(path), "init", "--domain", "eng.test").returncode == 0
    assert wc("--config", str(path), "user", "add", "alice").returncode == 0
    config = load_config(path)

    async def posts() -> None:
        from store import accounts
        from watercooler.services import start_services

        svc = await start_services(config)
        try:
            async with svc.db.read() as conn:
                alice = await accounts.get_local(conn, "alice")
            assert alice is not None
            await svc.publisher.post(alice, "budget numbers", visibility="direct")
            await svc.publisher.post(alice, "hello all")
        finally:
            await svc.aclose()

    asyncio.run(posts())
    out = tmp_path / "found.csv"
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    found = wc(
        "--config", str(path), "ediscovery", "--query", "budget", "--since", since,
        "--format", "csv", "--out", str(out),
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert "exported 1 status" in found.stderr
    [row] = list(csv.DictReader(io.StringIO(out.read_text(), newline="")))
    assert row["visibility"] == "direct" and row["text"] == "budget numbers"
    zipped = tmp_path / "alice.zip"
    archived = wc("--config", str(path), "export", "archive", "alice", "--out", str(zipped))
    assert archived.returncode == 0, archived.stderr
    assert zipped.is_file() and not (tmp_path / "alice.zip.part").exists()
    missing = wc("--config", str(path), "export", "archive", "nobody", "--out", str(zipped))
    assert missing.returncode == 2 and "no local user" in missing.stderr
    with sqlite3.connect(config.database.path) as conn:
        logged = conn.execute(
            "SELECT action, target, origin, details FROM audit_log"
            " WHERE action IN ('ediscovery.export', 'archive.export') ORDER BY id"
        ).fetchall()
    assert [(a, t, o) for a, t, o, _ in logged] == [
        ("ediscovery.export", "budget", "cli"),
        ("archive.export", "alice", "cli"),
    ]
    assert json.loads(logged[0][3])["count"] == 1
    assert json.loads(logged[1][3])["statuses"] == 2
