"""The audit log's admin API (`/api/v1/admin/audit_log`, `/export`, `/verify`): who may call
it (the web page's rule: admins and moderators read, admins export and verify), the filters
and Mastodon's paging with the `Link` header followed to the end, an export that re-verifies
from its lines alone and is itself a row, and a tampered row (the SQLite file changed outside
the app, triggers dropped first) that the check names."""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
import pytest

from store import audit, roles, users
from store.audit import AuditEntry
from store.audit_verify import ChainCheck, content_hash
from tests.watercooler.test_oauth import Harness, h
from watercooler.accounts import create_token, create_user
from watercooler.admin import Actor, AdminActions

__all__ = ["h"]  # the fixture, shared with test_oauth

LIST = "/api/v1/admin/audit_log"
EXPORT = "/api/v1/admin/audit_log/export"
VERIFY = "/api/v1/admin/audit_log/verify"
ENTRY_KEYS = [
    "id",
    "at",
    "actor",
    "action",
    "target",
    "details",
    "origin",
    "prev_hash",
    "hash",
]


async def _log(harness: Harness) -> list[AuditEntry]:
    async with harness.services.db.read() as conn:
        return await audit.chain(conn)


async def _client(
    harness: Harness,
    name: str,
    scopes: str = "admin:read",
    *,
    admin: bool = False,
    moderator: bool = False,
) -> httpx.AsyncClient:
    """A client calling a.test's API as `name` (created now) with a token of `scopes`."""
    svc = harness.services
    created = await create_user(
        svc.db, svc.uris, name, now=harness.clock(), password="password123", admin=admin
    )
    if moderator:
        async with svc.db.transaction() as conn:
            await roles.grant(conn, created.user.id, roles.MODERATOR, harness.clock())
    token = await create_token(svc.db, name, tuple(scopes.split()), harness.clock())
    client = harness.browser()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


async def _history(harness: Harness) -> None:
    """Domain blocks by `ops` over ten days (2026-03-01 to 03-10), one a day, one with a %
    in its reason; then a user disabled by `root-cli` on the last day."""
    actions = AdminActions.of(harness.services)
    ops = Actor(None, "ops", "cli")
    for day in range(10):
        reason = "50% off spam" if day == 4 else f"phishing wave {day}"
        await actions.block_domain(ops, f"d{day}.example", reason=reason)
        harness.clock.advance(days=1)
    await actions.disable_user(Actor(None, "root-cli", "cli"), "alice")


def _next(response: httpx.Response) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return found.group(1) if found else None


async def _targets(client: httpx.AsyncClient, **params: str) -> list[str]:
    answer = await client.get(LIST, params=params)
    assert answer.status_code == 200, answer.text
    return [entry["target"] for entry in answer.json()]


async def test_the_entries_newest_first_as_stored(h: Harness) -> None:
    await _history(h)
    admin = await _client(h, "root", admin=True)
    answer = await admin.get(LIST)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    entries = answer.json()
    stored = await _log(h)
    assert [e["id"] for e in entries] == [str(r.id) for r in reversed(stored)]
    block = next(e for e in entries if e["target"] == "d3.example")
    row = next(r for r in stored if r.target == "d3.example")
    assert list(block) == ENTRY_KEYS
    assert block == {
        "id": str(row.id),
        "at": "2026-03-04T09:00:00.000Z",
        "actor": {"account_id": None, "name": "ops"},
        "action": "domain.block",
        "target": "d3.example",
        "details": row.details,
        "origin": "cli",
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }
    assert block["details"]["reason"] == "phishing wave 3"
    disabled = next(e for e in entries if e["action"] == "user.disable")
    assert disabled["actor"] == {"account_id": None, "name": "root-cli"}
    # a person's account id, as a Mastodon id (a string)
    async with h.services.db.read() as conn:
        root = await users.get_by_username(conn, "root")
    assert root is not None
    await AdminActions.of(h.services).block_domain(Actor.of_user(root, "api"), "e.example")
    (newest,) = (await admin.get(LIST, params={"limit": "1"})).json()
    assert (newest["target"], newest["origin"]) == ("e.example", "api")
    assert newest["actor"] == {"account_id": str(root.account_id), "name": "root"}


async def test_the_filters_are_the_web_pages(h: Harness) -> None:
    await _history(h)
    admin = await _client(h, "root", admin=True)
    assert await _targets(admin, q="D3.EXAMPLE") == ["d3.example"]  # any case
    assert await _targets(admin, q="wave 7") == ["d7.example"]  # in the details
    assert await _targets(admin, q="50%") == ["d4.example"]  # % is a character
    assert await _targets(admin, q="5_%") == []
    assert await _targets(admin, action="user.disable") == ["alice"]
    assert len(await _targets(admin, action="domain.")) == 10  # a family
    assert await _targets(admin, action="domain") == []  # a name is exact
    assert len(await _targets(admin, actor="OPS")) == 10
    assert await _targets(admin, actor="ops", q="d1") == ["d1.example"]
    # d<n> on 2026-03-01 + n days; `until` takes in its whole day
    assert await _targets(admin, since="2026-03-04", until="2026-03-05", action="domain.") == [
        "d4.example",
        "d3.example",
    ]
    assert await _targets(admin, since="2026-03-10T00:00:00Z") == ["alice", "d9.example"]
    bad = await admin.get(LIST, params={"since": "yesterday"})
    assert bad.status_code == 422 and "Not a date" in bad.json()["error"]


async def test_paging_follows_the_link_header_to_the_end(h: Harness) -> None:
    await _history(h)
    actions = AdminActions.of(h.services)
    for number in range(45):
        await actions.block_domain(Actor(None, "ops", "cli"), f"bulk{number}.example")
    admin = await _client(h, "root", admin=True)
    wanted = [f"bulk{n}.example" for n in reversed(range(45))]

    seen: list[str] = []
    pages = 0
    url: str | None = f"{LIST}?q=bulk&action=domain.block&limit=20"
    while url is not None:
        answer = await admin.get(url)
        assert answer.status_code == 200, answer.text
        seen += [entry["target"] for entry in answer.json()]
        pages += 1
        url = _next(answer)
        if url is not None:  # the filters are kept in the link, the bound replaced
            assert "q=bulk" in url and "action=domain.block" in url and "limit=20" in url
            assert url.startswith("http://a.test/api/v1/admin/audit_log?")
    assert seen == wanted
    assert pages == 3  # 20, 20, then 5 and no `next`

    # the default page is 50 and the largest 200
    assert len((await admin.get(LIST)).json()) == 50
    assert len((await admin.get(LIST, params={"limit": "500"})).json()) == len(await _log(h))
    rows = await _log(h)
    middle = rows[30].id
    newer = (await admin.get(LIST, params={"since_id": str(middle), "limit": "3"})).json()
    assert [int(e["id"]) for e in newer] == [r.id for r in rows[-3:]][::-1]  # the newest 3
    oldest = await admin.get(LIST, params={"min_id": str(middle), "limit": "3"})
    assert [int(e["id"]) for e in oldest.json()] == [middle + 3, middle + 2, middle + 1]
    prev = re.search(r'<([^>]+)>; rel="prev"', oldest.headers["link"])
    assert prev is not None and prev.group(1).endswith(f"min_id={middle + 3}")
    before = (await admin.get(LIST, params={"max_id": str(middle), "limit": "2"})).json()
    assert [int(e["id"]) for e in before] == [middle - 1, middle - 2]
    assert (await admin.get(LIST, params={"max_id": "x"})).status_code == 400


async def test_who_may_call_it(h: Harness) -> None:
    await _history(h)
    anonymous = h.browser()
    for path in (LIST, EXPORT, VERIFY):
        assert (await anonymous.get(path)).status_code == 401
    employee = await _client(h, "emma", "read write admin:read admin:write")
    unscoped_admin = await _client(h, "root", "read write follow", admin=True)
    moderator = await _client(h, "mod", "admin:read", moderator=True)
    for client in (employee, unscoped_admin):
        for path in (LIST, EXPORT, VERIFY):
            assert (await client.get(path)).status_code == 403, path
    # a moderator reads the log as on the web page, but neither exports nor checks it
    listed = await moderator.get(LIST, params={"action": "domain."})
    assert listed.status_code == 200 and len(listed.json()) == 10
    before = await _log(h)
    assert (await moderator.get(EXPORT)).status_code == 403
    assert (await moderator.get(VERIFY)).status_code == 403
    assert await _log(h) == before  # a refused export is no row


async def test_the_export_reverifies_from_its_lines_and_is_itself_a_row(h: Harness) -> None:
    await _history(h)
    admin = await _client(h, "root", admin=True)
    filtered = await admin.get(EXPORT, params={"action": "domain.", "q": "wave"})
    assert filtered.status_code == 200, filtered.text
    assert filtered.headers["content-type"].startswith("application/jsonl")
    assert filtered.headers["content-disposition"].startswith('attachment; filename="audit-a.test-')
    assert filtered.headers["cache-control"] == "no-store"
    lines = [json.loads(line) for line in filtered.text.splitlines()]
    assert [row["target"] for row in lines] == [f"d{n}.example" for n in range(10) if n != 4]
    for row in lines:  # each row's own hash holds in a filtered export
        assert content_hash(row["prev_hash"], row) == row["hash"]
    check = ChainCheck(trust_first=True)  # as `audit verify --file`: d4 is a gap
    for number, line in enumerate(filtered.text.splitlines(), start=1):
        check.check_line(line, number)
    assert check.problem is not None and check.problem.kind == "row missing"
    assert check.count == 4

    whole = await admin.get(EXPORT)
    check = ChainCheck()
    for number, line in enumerate(whole.text.splitlines(), start=1):
        assert check.check_line(line, number) is None
    verdict = check.verdict()
    stored = await _log(h)
    assert verdict.intact and verdict.count == len(stored) and verdict.head == stored[-1].hash
    assert json.loads(whole.text.splitlines()[-1])["action"] == "audit.export"
    async with h.services.db.read() as conn:
        root = await users.get_by_username(conn, "root")
    assert root is not None
    exports = [r for r in stored if r.action == "audit.export"]
    assert [(r.actor_account_id, r.actor_name, r.origin, r.target, r.details) for r in exports] == [
        (
            root.account_id,
            "root",
            "api",
            "audit_log",
            {"filters": {"action": "domain.", "text": "wave"}, "format": "jsonl", "to": "download"},
        ),
        (
            root.account_id,
            "root",
            "api",
            "audit_log",
            {"filters": {}, "format": "jsonl", "to": "download"},
        ),
    ]
    bad = await admin.get(EXPORT, params={"until": "soon"})
    assert bad.status_code == 422
    assert [r.action for r in await _log(h)].count("audit.export") == 2  # no row for it


def _tamper(path: str, *statements: str) -> None:
    """What someone with the database file and the sqlite3 module can do."""
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


async def test_verify_answers_the_head_and_names_a_tampered_row(h: Harness) -> None:
    await _history(h)
    admin = await _client(h, "root", admin=True)
    stored = await _log(h)
    answer = await admin.get(VERIFY)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "intact": True,
        "entries": len(stored),
        "head": stored[-1].hash,
        "head_id": str(stored[-1].id),
        "expected_head_id": None,
        "problem": None,
        "problems": [],
    }
    assert await _log(h) == stored  # checking writes nothing

    noted = stored[4]
    for form in (noted.hash, f"{noted.id}:{noted.hash}"):
        found = (await admin.get(VERIFY, params={"expect_head": form})).json()
        assert found["intact"] and found["expected_head_id"] == str(noted.id)
    elsewhere = (await admin.get(VERIFY, params={"expect_head": "ab" * 32})).json()
    assert not elsewhere["intact"] and elsewhere["problem"]["kind"] == "head missing"
    malformed = await admin.get(VERIFY, params={"expect_head": "not-a-hash"})
    assert malformed.status_code == 422 and "64 hex digits" in malformed.json()["error"]

    target = next(r for r in stored if r.target == "d3.example")
    _tamper(
        h.services.config.database.path,
        "DROP TRIGGER audit_log_no_update",
        f"UPDATE audit_log SET target = 'd3.elsewhere' WHERE id = {target.id}",
    )
    broken = (await admin.get(VERIFY)).json()
    assert broken["intact"] is False
    assert broken["entries"] == target.id - 1
    assert broken["problem"] == {
        "row": str(target.id),
        "kind": "content changed",
        "detail": "its content no longer matches its hash (changed after it was written)",
    }
    assert [p["kind"] for p in broken["problems"]] == ["content changed", "triggers missing"]
    assert "audit_log_no_update" in broken["problems"][1]["detail"]


@pytest.mark.parametrize("path", [LIST, EXPORT, VERIFY])
async def test_an_unknown_token_is_refused(h: Harness, path: str) -> None:
    client = h.browser()
    answer = await client.get(path, headers={"Authorization": "Bearer forged"})
    assert answer.status_code == 401
