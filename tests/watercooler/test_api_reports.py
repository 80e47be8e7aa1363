"""`POST /api/v1/reports` and the admin reports API, in process on one division, as Mastodon
documents them: the Report and Admin::Report entities key for key, form and JSON bodies, the
scopes, and the refusals (403 without the scope or the role, 404 for what the reporter may
not see or that is not the account's, 422 for bad input), each of which changes nothing.
Queue actions write one audit row each (origin 'api'), paging follows Mastodon's Link."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from store import roles, users
from tests.conftest import MakeConfig
from tests.rig import Rig

ADMIN_ACCOUNT_KEYS = [
    "id", "username", "domain", "created_at", "email", "ip", "ips", "locale", "invite_request",
    "role", "confirmed", "approved", "disabled", "silenced", "sensitized", "suspended", "account",
]  # fmt: skip


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    async with Rig([make_config("a.test")]) as rig:
        yield rig


def count(rig: Rig, sql: str) -> int:
    with closing(sqlite3.connect(rig.services("a.test").config.database.path)) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def grant_moderator(rig: Rig, name: str) -> None:
    async with rig.services("a.test").db.transaction() as conn:
        user = await users.get_by_username(conn, name)
        assert user is not None
        await roles.grant(conn, user.id, roles.MODERATOR, datetime.now(UTC))


async def posted(client: httpx.AsyncClient, text: str, visibility: str = "public") -> str:
    answer = await client.post("/api/v1/statuses", json={"status": text, "visibility": visibility})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def account_id(client: httpx.AsyncClient) -> str:
    me = await client.get("/api/v1/accounts/verify_credentials")
    return str(me.json()["id"])


async def test_reports_and_their_refusals(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    reader = await rig.api_client("a.test", "dave", "read")
    async with alice, bob, carol, reader:
        alice_id, bob_id = await account_id(alice), await account_id(bob)
        public = await posted(alice, "a public post")
        private = await posted(alice, "for followers only", "private")
        bobs = await posted(bob, "bob's post")

        # A form body, as Mastodon.py sends it
        answer = await carol.post(
            "/api/v1/reports",
            data={"account_id": alice_id, "status_ids[]": [public], "comment": "spam"},
        )
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["status_ids"] == [public] and report["category"] == "other"
        assert report["rule_ids"] is None and report["forwarded"] is False
        assert report["target_account"]["id"] == alice_id and report["action_taken"] is False
        # A JSON body with a category and forward (a local account: nothing is forwarded)
        answer = await carol.post(
            "/api/v1/reports", json={"account_id": alice_id, "category": "legal", "forward": True}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["category"] == "legal" and answer.json()["forwarded"] is False
        assert count(rig, "SELECT count(*) FROM reports") == 2
        assert count(rig, "SELECT count(*) FROM deliveries") == 0

        refusals: list[tuple[httpx.AsyncClient, dict[str, Any], int]] = [
            (reader, {"account_id": alice_id}, 403),  # no write:reports
            (carol, {"account_id": "999999"}, 404),  # no such account
            (carol, {"account_id": alice_id, "status_ids": [bobs]}, 404),  # not alice's
            (carol, {"account_id": alice_id, "status_ids": [private]}, 404),  # carol can't see
            (carol, {"account_id": alice_id, "status_ids": ["123456789"]}, 404),
            (carol, {}, 422),  # no account
            (carol, {"account_id": "x"}, 422),
            (carol, {"account_id": alice_id, "category": "rude"}, 422),
            (carol, {"account_id": alice_id, "comment": "x" * 1001}, 422),
            (carol, {"account_id": alice_id, "rule_ids": ["1"]}, 422),  # no such rule
            (carol, {"account_id": bob_id, "status_ids": [public]}, 404),
        ]
        for client, body, status in refusals:
            answer = await client.post("/api/v1/reports", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "error" in answer.json()
        anonymous = httpx.AsyncClient(transport=rig.router, base_url="http://a.test")
        async with anonymous:
            answer = await anonymous.post("/api/v1/reports", json={"account_id": alice_id})
            assert answer.status_code == 401
        assert count(rig, "SELECT count(*) FROM reports") == 2
        assert count(rig, "SELECT count(*) FROM audit_log WHERE action = 'report.create'") == 2


async def test_admin_reports_api(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    carol = await rig.api_client("a.test", "carol")
    admin = await rig.admin_client("a.test")
    mod = await rig.api_client("a.test", "mod", "read admin:read:reports admin:write:reports")
    await grant_moderator(rig, "mod")
    employee = await rig.api_client("a.test", "eve", "read admin:read admin:write")
    mod_read_only = await rig.api_client("a.test", "mod", "admin:read:reports")
    async with alice, carol, admin, mod, employee, mod_read_only:
        alice_id, carol_id = await account_id(alice), await account_id(carol)
        post = await posted(alice, "a post")
        ids = []
        for n in range(3):
            answer = await carol.post(
                "/api/v1/reports",
                json={"account_id": alice_id, "status_ids": [post], "comment": f"n{n}"},
            )
            ids.append(answer.json()["id"])

        # admins and moderators may read the queue; an employee with admin scopes may not
        assert (await employee.get("/api/v1/admin/reports")).status_code == 403
        assert (await employee.post(f"/api/v1/admin/reports/{ids[0]}/resolve")).status_code == 403
        listed = await admin.get("/api/v1/admin/reports")
        assert listed.status_code == 200, listed.text
        assert [r["id"] for r in listed.json()] == ids[::-1]
        first = listed.json()[-1]
        assert first["account"]["id"] == carol_id and first["target_account"]["id"] == alice_id
        assert list(first["account"]) == ADMIN_ACCOUNT_KEYS
        assert (
            first["account"]["role"]["name"] == "" and first["account"]["account"]["id"] == carol_id
        )
        assert [s["id"] for s in first["statuses"]] == [post] and first["rules"] == []
        assert first["assigned_account"] is None and first["action_taken_by_account"] is None

        # paging: two per page, Link to the next
        page = await mod.get("/api/v1/admin/reports", params={"limit": "2"})
        assert [r["id"] for r in page.json()] == [ids[2], ids[1]]
        assert f"max_id={ids[1]}" in page.headers["link"] and 'rel="next"' in page.headers["link"]
        older = await mod.get("/api/v1/admin/reports", params={"max_id": ids[1]})
        assert [r["id"] for r in older.json()] == [ids[0]]
        newer = await mod.get("/api/v1/admin/reports", params={"min_id": ids[0], "limit": "1"})
        assert [r["id"] for r in newer.json()] == [ids[1]]
        by_target = await mod.get("/api/v1/admin/reports", params={"target_account_id": carol_id})
        assert by_target.json() == []
        by_reporter = await mod.get("/api/v1/admin/reports", params={"account_id": carol_id})
        assert len(by_reporter.json()) == 3

        # the actions, each once in the audit log
        base = f"/api/v1/admin/reports/{ids[0]}"
        assigned = await mod.post(f"{base}/assign_to_self")
        assert assigned.status_code == 200, assigned.text
        assert assigned.json()["assigned_account"]["username"] == "mod"
        assert assigned.json()["assigned_account"]["role"]["name"] == "Moderator"
        assert (await mod.post(f"{base}/assign_to_self")).status_code == 200  # no change
        unassigned = await mod.post(f"{base}/unassign")
        assert unassigned.json()["assigned_account"] is None
        updated = await mod.put(base, json={"category": "spam"})
        assert updated.status_code == 200 and updated.json()["category"] == "spam"
        assert (await mod.put(base, json={"category": "rude"})).status_code == 422
        assert (await mod.put(base, json={"rule_ids": ["7"]})).status_code == 422
        resolved = await mod.post(f"{base}/resolve")
        assert resolved.json()["action_taken"] is True
        assert resolved.json()["action_taken_by_account"]["username"] == "mod"
        assert resolved.json()["action_taken_at"] is not None
        assert [r["id"] for r in (await mod.get("/api/v1/admin/reports")).json()] == ids[:0:-1]
        done = await mod.get("/api/v1/admin/reports", params={"resolved": "true"})
        assert [r["id"] for r in done.json()] == [ids[0]]
        reopened = await mod.post(f"{base}/reopen")
        assert reopened.json()["action_taken"] is False
        shown = await mod.get(base)
        assert shown.status_code == 200 and shown.json()["id"] == ids[0]
        assert count(
            rig, "SELECT count(*) FROM audit_log WHERE origin = 'api' AND action IN"
            " ('report.assign', 'report.unassign', 'report.update', 'report.resolve',"
            " 'report.reopen')",
        ) == 5  # fmt: skip

        # scopes and unknown ids
        assert (await mod_read_only.post(f"{base}/resolve")).status_code == 403
        assert (await carol.get("/api/v1/admin/reports")).status_code == 403
        for path in ("/api/v1/admin/reports/424242", "/api/v1/admin/reports/x"):
            assert (await mod.get(path)).status_code == 404
            assert (await mod.post(f"{path}/resolve")).status_code == 404
