"""Mastodon's notifications over HTTP, across two in-process instances: bob on b.test follows,
mentions, boosts and favourites alice on a.test, and alice's apps see it after the queues
drain. Each event notifies once however often it is delivered or handled; the list filters
and pages as Mastodon's does; get, dismiss, clear and the unread count; scopes; and
Mastodon.py reading them from a live server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError

from federation.activities import parse_activity
from federation.keys import load_private_key
from federation.signatures import sign_request
from federation.uris import Uris
from inbox.handlers import HANDLERS
from store.records import InboxItemRecord
from tests.conftest import MakeConfig
from tests.live import free_port
from tests.rig import Rig
from tests.watercooler.conftest import account_id, post
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app
from watercooler.keyresolver import StoreKeyResolver
from watercooler.services import open_database

NOTIFICATION_KEYS = ["id", "type", "created_at", "group_key", "account", "status"]


async def notes(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def rows(rig: Rig, domain: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """A plain read of an instance's SQLite file, beside the app's own connections."""
    with closing(sqlite3.connect(rig.services(domain).db.path)) as conn:
        return conn.execute(sql, params).fetchall()


async def deliver_again(rig: Rig, sender: str, receiver: str, name: str) -> int:
    """POST every activity `sender` delivered to `receiver` once more, signed by `name`."""
    svc = rig.services(sender)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, svc.uris.key_id(name)))
    assert isinstance(key, rsa.RSAPrivateKey)
    bodies = rows(
        rig,
        sender,
        "SELECT d.inbox_url, b.body FROM deliveries d"
        " JOIN delivery_bodies b ON b.activity_uri = d.activity_uri WHERE d.host = ?"
        " AND d.actor_account_id = (SELECT id FROM accounts WHERE username = ? AND domain IS NULL)",
        receiver,
        name,
    )
    async with rig.client(receiver) as client:
        for inbox_url, body in bodies:
            headers = {"Content-Type": "application/activity+json"}
            headers |= sign_request(
                "POST",
                inbox_url,
                headers,
                body.encode(),
                key_id=svc.uris.key_id(name),
                private_key=key,
                now=datetime.now(UTC),
            )
            response = await client.post(inbox_url, content=body.encode(), headers=headers)
            assert response.status_code == 202, response.text
    return len(bodies)


async def handle_again(rig: Rig, domain: str) -> int:
    """Run the handler of every activity `domain` has handled once more, as after a crash
    between a handler's commit and the item being marked done."""
    ctx = rig.services(domain).workers.inbox.ctx
    items = rows(
        rig,
        domain,
        "SELECT id, activity_uri, actor_uri, recipient_account_id, body, attempts"
        " FROM inbox_items WHERE state = 'done' AND actor_uri NOT IN"
        " (SELECT uri FROM accounts WHERE actor_type = 'Application') ORDER BY id",
    )
    for row in items:
        item = InboxItemRecord(*row)
        activity = parse_activity(json.loads(item.body))
        await HANDLERS[activity.type](ctx, activity, item)
    return len(items)


# ----- each type, end to end -------------------------------------------------------------------


async def test_follow_mention_favourite_reblog_from_another_instance(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        alice_at_b = await account_id(bob, "@alice@a.test")
        assert (await bob.post(f"/api/v1/accounts/{alice_at_b}/follow")).status_code == 200
        await rig.drain()
        question = await post(alice, "Any ideas?")
        await rig.drain()
        home = (await bob.get("/api/v1/timelines/home")).json()
        assert [s["uri"] for s in home] == [question["uri"]]
        mention = await post(bob, "@alice@a.test have a look")
        await rig.drain()
        assert (await bob.post(f"/api/v1/statuses/{home[0]['id']}/favourite")).status_code == 200
        await rig.drain()
        assert (await bob.post(f"/api/v1/statuses/{home[0]['id']}/reblog")).status_code == 200
        await rig.drain()

        got = await notes(alice)
        assert [n["type"] for n in got] == ["reblog", "favourite", "mention", "follow"]
        assert all(n["account"]["acct"] == "bob@b.test" for n in got)
        reblog, favourite, mentioned, follow = got
        assert list(reblog) == NOTIFICATION_KEYS
        assert reblog["status"]["id"] == favourite["status"]["id"] == question["id"]
        assert reblog["status"]["reblogged"] is False  # alice's own view of her post
        assert mentioned["status"]["uri"] == mention["uri"]
        assert list(follow) == NOTIFICATION_KEYS[:-1]  # no "status": null
        for n in got:
            assert isinstance(n["id"], str) and n["group_key"] == f"ungrouped-{n['id']}"
            assert n["created_at"].endswith("Z") and len(n["created_at"]) == 24
        assert [int(n["id"]) for n in got] == sorted((int(n["id"]) for n in got), reverse=True)
        # bob's own actions notify no one on his side
        assert await notes(bob) == []

        # The same activities again: drained twice, delivered twice, handled twice.
        assert await rig.drain() == 0
        assert await deliver_again(rig, "b.test", "a.test", "bob") == 4
        await rig.drain()
        assert await handle_again(rig, "a.test") == 4
        await rig.drain()
        assert await notes(alice) == got
        assert rows(rig, "a.test", "SELECT count(*) FROM notifications") == [(4,)]


async def test_local_actions_notify_local_users_but_not_oneself(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    carol = await rig.api_client("a.test", "carol")
    async with alice, carol:
        alice_id = await account_id(carol, "alice")
        assert (await carol.post(f"/api/v1/accounts/{alice_id}/follow")).status_code == 200
        mine = await post(alice, "Lunch at noon, @alice?")  # mentioning oneself: nothing
        for action in ("favourite", "reblog"):
            assert (await alice.post(f"/api/v1/statuses/{mine['id']}/{action}")).status_code == 200
            assert (await carol.post(f"/api/v1/statuses/{mine['id']}/{action}")).status_code == 200
        reply = await post(carol, "count me in", in_reply_to_id=mine["id"])  # a reply mentions
        direct = await post(carol, "@alice psst", visibility="direct")
        got = await notes(alice)
        assert [(n["type"], n["account"]["acct"]) for n in got] == [
            ("mention", "carol"),
            ("mention", "carol"),
            ("reblog", "carol"),
            ("favourite", "carol"),
            ("follow", "carol"),
        ]
        assert [got[0]["status"]["id"], got[1]["status"]["id"]] == [direct["id"], reply["id"]]
        assert got[0]["status"]["visibility"] == "direct"
        assert await notes(carol) == []


async def test_follow_request_to_a_locked_account_then_authorize(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        locked = await alice.patch("/api/v1/accounts/update_credentials", data={"locked": "true"})
        assert locked.json()["locked"] is True
        alice_at_b = await account_id(bob, "@alice@a.test")
        await bob.post(f"/api/v1/accounts/{alice_at_b}/follow")
        await rig.drain()
        (request,) = await notes(alice)
        assert request["type"] == "follow_request" and request["account"]["acct"] == "bob@b.test"
        assert "status" not in request
        assert await notes(alice, **{"types[]": "follow"}) == []
        authorized = await alice.post(
            f"/api/v1/follow_requests/{request['account']['id']}/authorize"
        )
        assert authorized.status_code == 200 and authorized.json()["followed_by"] is True
        await rig.drain()
        relation = await bob.get("/api/v1/accounts/relationships", params={"id[]": alice_at_b})
        assert relation.json()[0]["following"] is True
        # As in Mastodon, the request's notification goes with the request; no `follow` comes.
        assert await notes(alice) == []
        lookup = await alice.get(f"/api/v1/notifications/{request['id']}")
        assert lookup.status_code == 404


async def test_update_reaches_boosters_and_the_mentioned(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    dave = await rig.api_client("a.test", "dave")
    bob = await rig.api_client("b.test", "bob")
    async with alice, dave, bob:
        alice_at_b = await account_id(bob, "@alice@a.test")
        await bob.post(f"/api/v1/accounts/{alice_at_b}/follow")
        bob_at_a = await account_id(alice, "@bob@b.test")
        await alice.post(f"/api/v1/accounts/{bob_at_a}/follow")
        await rig.drain()
        news = await post(alice, "Release on Monday, @dave")
        theirs = await post(bob, "Offsite on Friday")
        await rig.drain()
        news_at_b = next(
            s for s in (await bob.get("/api/v1/timelines/home")).json() if s["uri"] == news["uri"]
        )
        theirs_at_a = next(
            s
            for s in (await alice.get("/api/v1/timelines/home")).json()
            if s["uri"] == theirs["uri"]
        )
        await bob.post(f"/api/v1/statuses/{news_at_b['id']}/reblog")
        await alice.post(f"/api/v1/statuses/{theirs_at_a['id']}/reblog")
        await rig.drain()

        edited = await alice.put(
            f"/api/v1/statuses/{news['id']}", json={"status": "Tuesday, @dave"}
        )
        assert edited.status_code == 200
        edited = await bob.put(f"/api/v1/statuses/{theirs['id']}", json={"status": "Offsite off"})
        assert edited.status_code == 200
        await rig.drain()

        (update_for_dave,) = await notes(dave, **{"types[]": "update"})
        assert update_for_dave["account"]["acct"] == "alice"
        assert "Tuesday" in update_for_dave["status"]["content"]
        (update_for_bob,) = await notes(bob, **{"types[]": "update"})
        assert update_for_bob["account"]["acct"] == "alice@a.test"
        assert update_for_bob["status"]["uri"] == news["uri"]
        assert "Tuesday" in update_for_bob["status"]["content"]
        (update_for_alice,) = await notes(alice, **{"types[]": "update"})
        assert update_for_alice["account"]["acct"] == "bob@b.test"
        assert "Offsite off" in update_for_alice["status"]["content"]

        # A second edit is a second notification; the same Update handled again is not.
        # (Update ids are per second: two edits in one second clash in the outbox.)
        await asyncio.sleep(1.05)
        again = await alice.put(f"/api/v1/statuses/{news['id']}", json={"status": "Wed, @dave"})
        assert again.status_code == 200
        await rig.drain()
        assert await handle_again(rig, "b.test") > 0
        assert await handle_again(rig, "a.test") > 0
        await rig.drain()
        for client, count in ((bob, 2), (dave, 2), (alice, 1)):
            assert len(await notes(client, **{"types[]": "update"})) == count
        latest = (await notes(bob, **{"types[]": "update"}))[0]
        assert "Wed" in latest["status"]["content"]


# ----- reading, filtering, paging ---------------------------------------------------------------


async def _mentions(alice: httpx.AsyncClient, carol: httpx.AsyncClient, n: int) -> list[str]:
    """carol follows alice, then mentions her `n` times: the notification ids, newest first."""
    alice_id = await account_id(carol, "alice")
    await carol.post(f"/api/v1/accounts/{alice_id}/follow")
    for i in range(n):
        await post(carol, f"@alice note {i}")
    return [n["id"] for n in await notes(alice, **{"types[]": "mention"})]


async def test_filters_and_paging_like_mastodon(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    carol = await rig.api_client("a.test", "carol")
    erin = await rig.api_client("a.test", "erin")
    async with alice, carol, erin:
        ids = await _mentions(alice, carol, 5)
        assert len(ids) == 5
        erin_post = await post(erin, "hello @alice")
        everything = await notes(alice)
        assert [n["type"] for n in everything] == ["mention"] * 6 + ["follow"]

        follows_only = await notes(alice, **{"types[]": "follow"})
        assert [n["type"] for n in follows_only] == ["follow"]
        both = await alice.get(
            "/api/v1/notifications?types[]=follow&types[]=favourite&types[]=nonsense"
        )
        assert [n["type"] for n in both.json()] == ["follow"]
        assert await notes(alice, **{"types[]": "nonsense"}) == []
        no_mentions = await alice.get(
            "/api/v1/notifications?exclude_types[]=mention&exclude_types[]=reblog"
        )
        assert [n["type"] for n in no_mentions.json()] == ["follow"]
        from_erin = await notes(alice, account_id=everything[0]["account"]["id"])
        assert [n["status"]["id"] for n in from_erin] == [erin_post["id"]]

        first = await alice.get("/api/v1/notifications", params={"types[]": "mention", "limit": 2})
        assert [n["id"] for n in first.json()] == [everything[0]["id"], ids[0]]
        link = first.headers["link"]
        assert f"max_id={ids[0]}" in link and f"min_id={everything[0]['id']}" in link
        assert "types%5B%5D=mention" in link and 'rel="next"' in link and 'rel="prev"' in link
        older = await notes(alice, **{"types[]": "mention", "max_id": ids[0], "limit": 2})
        assert [n["id"] for n in older] == ids[1:3]
        newer = await notes(alice, **{"types[]": "mention", "min_id": ids[3], "limit": 2})
        assert [n["id"] for n in newer] == [ids[1], ids[2]]
        since = await notes(alice, **{"types[]": "mention", "since_id": ids[3], "limit": 2})
        assert [n["id"] for n in since] == [everything[0]["id"], ids[0]]
        last = await alice.get("/api/v1/notifications", params={"max_id": everything[-1]["id"]})
        assert last.json() == [] and "link" not in last.headers
        capped = await notes(alice, limit=1000)
        assert len(capped) == 7
        assert (await alice.get("/api/v1/notifications?limit=x")).status_code == 400


async def test_get_dismiss_clear(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    carol = await rig.api_client("a.test", "carol")
    async with alice, carol:
        ids = await _mentions(alice, carol, 3)
        one = await alice.get(f"/api/v1/notifications/{ids[1]}")
        assert one.status_code == 200 and one.json()["id"] == ids[1]
        assert one.json()["type"] == "mention" and "note 1" in one.json()["status"]["content"]
        # carol's own notification list has none of alice's ids
        for path in (f"/api/v1/notifications/{ids[1]}", "/api/v1/notifications/abc"):
            assert (await carol.get(path)).status_code == 404
        refused = await carol.post(f"/api/v1/notifications/{ids[1]}/dismiss")
        assert refused.status_code == 404 and "error" in refused.json()

        dismissed = await alice.post(f"/api/v1/notifications/{ids[1]}/dismiss")
        assert dismissed.status_code == 200 and dismissed.json() == {}
        assert (await alice.get(f"/api/v1/notifications/{ids[1]}")).status_code == 404
        assert (await alice.post(f"/api/v1/notifications/{ids[1]}/dismiss")).status_code == 404
        assert len(await notes(alice)) == 3  # two mentions and the follow

        cleared = await alice.post("/api/v1/notifications/clear")
        assert cleared.status_code == 200 and cleared.json() == {}
        assert await notes(alice) == []


async def test_unread_count_follows_the_notifications_marker(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    carol = await rig.api_client("a.test", "carol")
    async with alice, carol:

        async def unread(**params: Any) -> int:
            response = await alice.get("/api/v1/notifications/unread_count", params=params)
            assert response.status_code == 200, response.text
            assert list(response.json()) == ["count"]
            return int(response.json()["count"])

        assert await unread() == 0
        ids = await _mentions(alice, carol, 4)
        assert await unread() == 5
        assert await unread(limit=2) == 2
        assert await unread(**{"types[]": "follow"}) == 1
        assert await unread(**{"exclude_types[]": "follow"}) == 4
        marked = await alice.post(
            "/api/v1/markers", json={"notifications": {"last_read_id": ids[2]}}
        )
        assert marked.status_code == 200
        assert await unread() == 2
        await alice.post("/api/v1/markers", json={"notifications": {"last_read_id": ids[0]}})
        assert await unread() == 0


async def test_scopes_and_tokens(rig: Rig) -> None:
    statuses_only = await rig.api_client("a.test", "alice", scopes="read:statuses write:statuses")
    reader = await rig.api_client("a.test", "alice", scopes="read")
    granular = await rig.api_client(
        "a.test", "alice", scopes="read:notifications write:notifications"
    )
    async with statuses_only, reader, granular:
        for path in ("/api/v1/notifications", "/api/v1/notifications/unread_count"):
            assert (await statuses_only.get(path)).status_code == 403
            assert (await reader.get(path)).status_code == 200
            assert (await granular.get(path)).status_code == 200
            anonymous = await reader.get(path, headers={"Authorization": ""})
            assert anonymous.status_code == 401 and "error" in anonymous.json()
            wrong = await reader.get(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        assert (await reader.post("/api/v1/notifications/clear")).status_code == 403
        assert (await reader.post("/api/v1/notifications/1/dismiss")).status_code == 403
        assert (await granular.post("/api/v1/notifications/clear")).status_code == 200
        assert (await granular.post("/api/v1/notifications/1/dismiss")).status_code == 404
        assert (await statuses_only.get("/api/v1/notifications/1")).status_code == 403


async def test_muted_blocked_and_taken_back_are_left_out(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        alice_at_b = await account_id(bob, "@alice@a.test")
        await bob.post(f"/api/v1/accounts/{alice_at_b}/follow")
        await rig.drain()
        await post(alice, "Quarterly numbers")
        await rig.drain()
        (at_b,) = (await bob.get("/api/v1/timelines/home")).json()
        await bob.post(f"/api/v1/statuses/{at_b['id']}/favourite")
        await rig.drain()
        await bob.post(f"/api/v1/statuses/{at_b['id']}/reblog")
        await rig.drain()
        mention = await post(bob, "@alice@a.test nice")
        await rig.drain()
        before = await notes(alice)
        assert [n["type"] for n in before] == ["mention", "reblog", "favourite", "follow"]
        bob_id = before[0]["account"]["id"]

        await alice.post(f"/api/v1/accounts/{bob_id}/mute", json={"notifications": False})
        assert await notes(alice) == before  # muted without notifications: still shown
        await alice.post(f"/api/v1/accounts/{bob_id}/mute")
        assert await notes(alice) == []
        unread = await alice.get("/api/v1/notifications/unread_count")
        assert unread.json() == {"count": 0}
        await alice.post(f"/api/v1/accounts/{bob_id}/unmute")
        assert await notes(alice) == before

        # Taken back: an unfavourite and an unboost remove their notifications, as in Mastodon.
        await bob.post(f"/api/v1/statuses/{at_b['id']}/unfavourite")
        await bob.post(f"/api/v1/statuses/{at_b['id']}/unreblog")
        await rig.drain()
        assert [n["type"] for n in await notes(alice)] == ["mention", "follow"]
        # Deleted: the mention goes with its status.
        await bob.delete(f"/api/v1/statuses/{mention['id']}")
        await rig.drain()
        assert [n["type"] for n in await notes(alice)] == ["follow"]
        # Blocked: nothing from bob; unblocked, his mention is back (his follow ended).
        await post(bob, "@alice@a.test still there?")
        await rig.drain()
        assert [n["type"] for n in await notes(alice)] == ["mention", "follow"]
        await alice.post(f"/api/v1/accounts/{bob_id}/block")
        assert await notes(alice) == []
        await alice.post(f"/api/v1/accounts/{bob_id}/unblock")
        assert [n["type"] for n in await notes(alice)] == ["mention"]


# ----- a real client ----------------------------------------------------------------------------


@pytest.fixture
def live_server(make_config: MakeConfig) -> Iterator[tuple[str, str, str]]:
    """uvicorn in a thread with users alice and bob; (base URL, alice's token, bob's token)."""
    port = free_port()
    config = make_config(f"127.0.0.1:{port}")

    async def seed() -> tuple[str, str]:
        db = await open_database(config)
        uris = Uris(config.instance.base_url)
        now = datetime.now(UTC)
        try:
            for name in ("alice", "bob"):
                await create_user(db, uris, name, now=now, password="password123")
            scopes = ("read", "write", "follow")
            return await create_token(db, "alice", scopes, now), await create_token(
                db, "bob", scopes, now
            )
        finally:
            await db.close()

    alice_token, bob_token = asyncio.run(seed())
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield config.instance.base_url, alice_token, bob_token
    finally:
        server.should_exit = True
        thread.join(10)


def test_mastodon_py_reads_and_dismisses_notifications(
    live_server: tuple[str, str, str],
) -> None:
    base_url, alice_token, bob_token = live_server
    alice = Mastodon(access_token=alice_token, api_base_url=base_url, version_check_mode="created")
    bob = Mastodon(access_token=bob_token, api_base_url=base_url, version_check_mode="created")

    bob.account_follow(bob.account_lookup("alice").id)
    mine = alice.status_post("Coffee?")
    bob.status_favourite(mine.id)
    bob.status_reblog(mine.id)
    bob.status_post("@alice yes please")

    got = alice.notifications()
    assert [n.type for n in got] == ["mention", "reblog", "favourite", "follow"]
    assert all(n.account.acct == "bob" for n in got)
    assert got[1].status.id == mine.id and got[3].get("status") is None
    assert [n.type for n in alice.notifications(types=["follow", "favourite"])] == [
        "favourite",
        "follow",
    ]
    assert next(n.type for n in alice.notifications(exclude_types=["mention"])) == "reblog"
    assert alice.notifications(id=got[0].id).status.content.startswith("<p>")
    assert [n.id for n in alice.notifications(limit=2)] == [got[0].id, got[1].id]
    assert alice.notifications_unread_count().count == 4
    alice.notifications_dismiss(got[0].id)
    with pytest.raises(MastodonNotFoundError):
        alice.notifications(id=got[0].id)
    alice.notifications_clear()
    assert alice.notifications() == []
    assert bob.notifications() == []
