"""Reports across divisions (issue 10, point 1): forwarded as `Flag`, received as reports.

Three divisions, each a peer of the others. Bob on b.test reports alice of a.test for her
post. With `forward`, b.test's instance actor sends a Flag to a.test, whose queue then holds
a report on alice with her post, attributed to b.test (no local reporter), and whose
moderator is notified; c.test hears nothing. Without `forward`, only b.test's queue has it.
Then the Flags of other servers (Mastodon's documented one, GoToSocial's), re-homed to a rig
peer, and the bad ones (naming nothing of ours, another host's objects, malformed, forged),
which change nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.keys import load_private_key
from federation.signatures import sign_request
from store import roles, users
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.keyresolver import StoreKeyResolver

DOMAINS = ("a.test", "b.test", "c.test")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"
REPORT_KEYS = [
    "id", "action_taken", "action_taken_at", "category", "comment", "forwarded", "created_at",
    "status_ids", "rule_ids", "target_account",
]  # fmt: skip
ADMIN_REPORT_KEYS = [
    "id", "action_taken", "action_taken_at", "category", "comment", "forwarded", "created_at",
    "updated_at", "account", "target_account", "assigned_account", "action_taken_by_account",
    "statuses", "rules",
]  # fmt: skip


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config(d, peers=tuple(p for p in DOMAINS if p != d)) for d in DOMAINS]
    async with Rig(configs) as rig:
        yield rig


def rows(rig: Rig, domain: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    path = rig.services(domain).config.database.path
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


async def make_moderator(rig: Rig, domain: str, name: str) -> httpx.AsyncClient:
    """A user of `domain` holding the moderator role, with a token for the admin API."""
    client = await rig.api_client(domain, name, "read write admin:read admin:write")
    svc = rig.services(domain)
    async with svc.db.transaction() as conn:
        user = await users.get_by_username(conn, name)
        assert user is not None
        await roles.grant(conn, user.id, roles.MODERATOR, datetime.now(UTC))
    return client


async def post(client: httpx.AsyncClient, text: str, visibility: str = "public") -> str:
    """Post as the client's user; the status's URI."""
    answer = await client.post("/api/v1/statuses", json={"status": text, "visibility": visibility})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["uri"])


async def local_status_id(client: httpx.AsyncClient, uri: str) -> str:
    found = await client.get("/api/v2/search", params={"q": uri, "resolve": "true"})
    assert found.status_code == 200, found.text
    (status,) = found.json()["statuses"]
    return str(status["id"])


async def queue(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/admin/reports", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def report_alice(rig: Rig, *, forward: bool) -> tuple[AccountRecord, str, dict[str, Any]]:
    """alice posts on a.test; bob on b.test reports her for it. (alice, post URI, report)."""
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        uri = await post(alice, "buy my crypto course")
        await rig.drain()
        status_id = await local_status_id(bob, uri)
        alice_there = await rig.account("b.test", rig.services("a.test").uris.actor("alice"))
        assert alice_there is not None
        answer = await bob.post(
            "/api/v1/reports",
            data={
                "account_id": str(alice_there.id),
                "status_ids[]": [status_id],
                "comment": "Spam in the company network",
                "category": "spam",
                "forward": "true" if forward else "false",
            },
        )
    assert answer.status_code == 200, answer.text
    return alice_there, uri, answer.json()


async def test_forwarded_report_reaches_the_origin_queue(rig: Rig) -> None:
    # Given a moderator on a.test (and an admin, who is notified too)
    moderator = await make_moderator(rig, "a.test", "mod")
    b_admin = await rig.admin_client("b.test")
    a_admin = await rig.admin_client("a.test")

    # When bob on b.test reports alice of a.test with forward
    alice_there, uri, report = await report_alice(rig, forward=True)
    await rig.drain()

    # Then the reporter gets Mastodon's Report
    assert list(report) == REPORT_KEYS
    assert report["forwarded"] is True and report["category"] == "spam"
    assert report["target_account"]["acct"] == "alice@a.test"
    assert len(report["status_ids"]) == 1 and report["action_taken"] is False

    # b.test's queue has it, from bob, forwarded
    async with b_admin:
        (ours,) = await queue(b_admin)
    assert ours["account"]["username"] == "bob" and ours["forwarded"] is True
    assert ours["target_account"]["id"] == str(alice_there.id)

    # a.test's queue has it: about alice, with her post, from b.test's instance actor
    async with moderator, a_admin:
        (theirs,) = await queue(moderator)
        assert list(theirs) == ADMIN_REPORT_KEYS
        assert theirs["account"]["domain"] == "b.test" and theirs["account"]["email"] is None
        assert theirs["target_account"]["username"] == "alice"
        assert theirs["target_account"]["domain"] is None
        assert [s["uri"] for s in theirs["statuses"]] == [uri]
        assert theirs["comment"] == "Spam in the company network"
        assert theirs["category"] == "other" and theirs["action_taken"] is False
        # and the moderator and the admin are each notified once
        for client in (moderator, a_admin):
            found = await client.get("/api/v1/notifications", params={"types[]": "admin.report"})
            assert found.status_code == 200, found.text
            (note,) = found.json()
            assert note["type"] == "admin.report" and note["report"]["id"] == theirs["id"]
            assert note["account"]["acct"].endswith("@b.test")

    # The Flag on the wire: from b.test's instance actor, to a.test's shared inbox
    ((body, inbox),) = rows(
        rig, "b.test", "SELECT a.body, d.inbox_url FROM activities a JOIN deliveries d"
        " ON d.activity_uri = a.uri WHERE a.type = 'Flag'",
    )  # fmt: skip
    flag = json.loads(body)
    assert inbox == "http://a.test/inbox"
    assert flag["actor"] == "http://b.test/actor" and flag["type"] == "Flag"
    assert flag["object"] == [rig.services("a.test").uris.actor("alice"), uri]
    assert flag["content"] == "Spam in the company network"

    # Audit: a 'report.create' on b.test (the API), a 'report.received' on a.test
    assert rows(rig, "b.test", "SELECT origin FROM audit_log WHERE action = 'report.create'") == [
        ("api",)
    ]
    assert rows(
        rig, "a.test", "SELECT origin, actor_name FROM audit_log WHERE action = 'report.received'"
    ) == [("federation", "b.test")]
    # c.test heard nothing
    assert rows(rig, "c.test", "SELECT count(*) FROM reports") == [(0,)]


async def test_report_without_forward_stays_home(rig: Rig) -> None:
    moderator = await make_moderator(rig, "a.test", "mod")
    b_admin = await rig.admin_client("b.test")
    _, _, report = await report_alice(rig, forward=False)
    await rig.drain()
    assert report["forwarded"] is False
    async with b_admin, moderator:
        assert [r["id"] for r in await queue(b_admin)] == [report["id"]]
        assert await queue(moderator) == []
    assert rows(rig, "b.test", "SELECT count(*) FROM activities WHERE type = 'Flag'") == [(0,)]
    assert rows(rig, "a.test", "SELECT count(*) FROM reports") == [(0,)]


# ----- Flags as other servers send them, and bad ones -----------------------------------------


async def signed_post(rig: Rig, signer: str, body: dict[str, Any], url: str) -> int:
    """POST `body` to `url` signed with `signer`'s instance actor key."""
    svc = rig.services(signer)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, svc.uris.instance_key_id))
    assert isinstance(key, rsa.RSAPrivateKey)
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST", url, headers, content, key_id=svc.uris.instance_key_id, private_key=key,
        now=svc.clock(),
    )  # fmt: skip
    async with httpx.AsyncClient(transport=rig.router) as client:
        answer = await client.post(url, content=content, headers=headers)
    return answer.status_code


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def rehome(document: Any, replacements: dict[str, str]) -> Any:
    text = json.dumps(document)
    for old, new in replacements.items():
        text = text.replace(old, new)
    return json.loads(text)


async def alice_and_post(rig: Rig) -> tuple[str, str]:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        uri = await post(alice, "a post", visibility="private")
    return rig.services("a.test").uris.actor("alice"), uri


def report_rows(rig: Rig) -> list[tuple[Any, ...]]:
    return rows(
        rig, "a.test", "SELECT r.comment, r.origin_domain, a.uri, r.uri FROM reports r"
        " JOIN accounts a ON a.id = r.target_account_id ORDER BY r.id",
    )  # fmt: skip


def reported_status_uris(rig: Rig) -> list[str]:
    sql = (
        "SELECT s.uri FROM report_statuses rs JOIN statuses s ON s.id = rs.status_id ORDER BY s.id"
    )
    return [row[0] for row in rows(rig, "a.test", sql)]


async def test_mastodons_documented_flag_is_a_report(rig: Rig) -> None:
    # Mastodon's documented Flag, re-homed: its sender (mastodon.example's instance actor)
    # becomes b.test's instance actor, the reported user and posts (example.com) alice of
    # a.test and her post (the documentation's second post is left pointing at example.com:
    # not ours, dropped). Content and shape are unchanged.
    alice_uri, post_uri = await alice_and_post(rig)
    flag = rehome(
        fixture("mastodon/flag-docs.json"),
        {
            "https://mastodon.example/actor": "http://b.test/actor",
            "https://mastodon.example/": "http://b.test/",
            "https://example.com/users/1": alice_uri,
            "https://example.com/posts/380590": post_uri,
        },
    )
    assert await signed_post(rig, "b.test", flag, "http://a.test/inbox") == 202
    await rig.drain()
    assert report_rows(rig) == [
        ("Please take a look at this user and their posts", "b.test", alice_uri, flag["id"])
    ]
    assert reported_status_uris(rig) == [post_uri]
    # The same Flag again: still one report
    assert await signed_post(rig, "b.test", flag, "http://a.test/inbox") == 202
    await rig.drain()
    assert len(report_rows(rig)) == 1
    assert rows(rig, "a.test", "SELECT count(*) FROM audit_log WHERE action = 'report.received'")[
        0
    ] == (1,)


async def test_gotosocials_flag_is_a_report(rig: Rig) -> None:
    # GoToSocial's Flag (from its test suite), re-homed: its instance actor
    # (localhost:8080/users/localhost:8080) becomes c.test's, the reported user and post
    # alice of a.test and her post. Sent to a.test's instance actor's inbox.
    alice_uri, post_uri = await alice_and_post(rig)
    flag = rehome(
        fixture("gotosocial/flag.json"),
        {
            "http://localhost:8080/users/localhost:8080": "http://c.test/actor",
            "http://localhost:8080/": "http://c.test/",
            "http://fossbros-anonymous.io/users/foss_satan/statuses/01FVW7JHQFSFK166WWKR8CBA6M": (
                post_uri
            ),
            "http://fossbros-anonymous.io/users/foss_satan": alice_uri,
        },
    )
    assert await signed_post(rig, "c.test", flag, "http://a.test/actor/inbox") == 202
    await rig.drain()
    assert report_rows(rig) == [
        ("dark souls sucks, please yeet this nerd", "c.test", alice_uri, flag["id"])
    ]
    assert reported_status_uris(rig) == [post_uri]


async def test_bad_flags_change_nothing(rig: Rig) -> None:
    alice_uri, post_uri = await alice_and_post(rig)
    bob = await rig.api_client("b.test", "bob")
    async with bob:
        bobs_post = await post(bob, "bob's own")
    await rig.drain()
    audit_before = rows(rig, "a.test", "SELECT count(*) FROM audit_log")
    base = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Flag",
        "actor": "http://b.test/actor",
        "content": "bad",
    }
    # Only another host's objects (b.test's own user and post): nothing of ours
    others = base | {
        "id": "http://b.test/flags/1",
        "object": ["http://b.test/users/bob", bobs_post],
    }
    assert await signed_post(rig, "b.test", others, "http://a.test/inbox") == 202
    # Unknown objects on our host (no such user, no such post)
    unknown = base | {
        "id": "http://b.test/flags/2",
        "object": ["http://a.test/users/nobody", "http://a.test/users/alice/statuses/123"],
    }
    assert await signed_post(rig, "b.test", unknown, "http://a.test/inbox") == 202
    # Malformed: no object at all, an object that is not a URL
    for n, bad_object in enumerate((None, "not a url", 42)):
        malformed = base | {"id": f"http://b.test/flags/m{n}"}
        if bad_object is not None:
            malformed["object"] = bad_object
        assert await signed_post(rig, "b.test", malformed, "http://a.test/inbox") == 202
    # Forged: signed by c.test, claiming b.test's actor; and an id on another host
    forged = base | {"id": "http://b.test/flags/3", "object": [alice_uri, post_uri]}
    assert await signed_post(rig, "c.test", forged, "http://a.test/inbox") in (400, 401)
    elsewhere = base | {"id": "http://c.test/flags/4", "object": [alice_uri]}
    assert await signed_post(rig, "b.test", elsewhere, "http://a.test/inbox") == 400
    await rig.drain()
    assert report_rows(rig) == []
    assert rows(rig, "a.test", "SELECT count(*) FROM audit_log") == audit_before
    assert rows(
        rig, "a.test", "SELECT count(*) FROM notifications WHERE type = 'admin.report'"
    ) == [(0,)]


async def test_flag_mixing_ours_and_others_keeps_only_ours(rig: Rig) -> None:
    alice_uri, post_uri = await alice_and_post(rig)
    carol = await rig.api_client("a.test", "carol")
    async with carol:
        carols_post = await post(carol, "carol's")
    flag = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://b.test/flags/mixed",
        "type": "Flag",
        "actor": "http://b.test/actor",
        "content": "look",
        # alice, her post, a post of carol's (not named: dropped), a b.test account
        "object": [alice_uri, post_uri, carols_post, "http://b.test/users/someone"],
    }
    assert await signed_post(rig, "b.test", flag, "http://a.test/inbox") == 202
    await rig.drain()
    assert report_rows(rig) == [("look", "b.test", alice_uri, flag["id"])]
    assert reported_status_uris(rig) == [post_uri]


async def test_in_open_mode_only_peers_may_report(make_config: MakeConfig) -> None:
    # a.test federates openly (anyone not blocked may deliver) with b.test as its one peer;
    # x.test is not a peer. Both send the same Flag about alice: only b.test's is a report.
    configs = [
        make_config("a.test", peers=("b.test",), mode="open"),
        make_config("b.test", peers=("a.test",)),
        make_config("x.test", peers=("a.test",), mode="open"),
    ]
    async with Rig(configs) as rig:
        alice_uri, post_uri = await alice_and_post(rig)
        for sender in ("x.test", "b.test"):
            flag = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"http://{sender}/flags/1",
                "type": "Flag",
                "actor": f"http://{sender}/actor",
                "content": f"from {sender}",
                "object": [alice_uri, post_uri],
            }
            assert await signed_post(rig, sender, flag, "http://a.test/inbox") == 202
        await rig.drain()
        assert report_rows(rig) == [("from b.test", "b.test", alice_uri, "http://b.test/flags/1")]
