"""Mastodon's conversations over HTTP: direct messages grouped per thread and participants,
for every local participant, between two users of one instance and across instances;
unread and read, deleting a conversation or its statuses, paging with `Link`, scopes, and
a third party never seeing any of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from store import conversations as store_conversations
from store import statuses
from tests.rig import Rig
from watercooler.api.conversations import conversation_entity_for_status

CONVERSATION_KEYS = ["id", "unread", "accounts", "last_status"]


async def dm(client: httpx.AsyncClient, text: str, **fields: Any) -> dict[str, Any]:
    made = await client.post(
        "/api/v1/statuses", json={"status": text, "visibility": "direct", **fields}
    )
    assert made.status_code == 200, made.text
    return made.json()  # type: ignore[no-any-return]


async def conversations(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/conversations", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def accts(conversation: dict[str, Any]) -> list[str]:
    return sorted(account["acct"] for account in conversation["accounts"])


async def test_a_direct_message_between_two_local_users(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        # Given alice writes to bob alone
        first = await dm(alice, "@bob lunch at noon?")
        # Then each of them has one conversation, with the other as its participant
        [bobs] = await conversations(bob)
        assert list(bobs) == CONVERSATION_KEYS and isinstance(bobs["id"], str)
        assert (bobs["unread"], accts(bobs)) == (True, ["alice"])
        assert bobs["last_status"]["id"] == first["id"]
        assert bobs["last_status"]["visibility"] == "direct"
        assert bobs["last_status"]["favourited"] is False  # the viewer's own view
        [alices] = await conversations(alice)
        assert (alices["unread"], accts(alices)) == (False, ["bob"])
        assert alices["id"] != bobs["id"]
        # and carol sees neither the conversation nor the status
        assert await conversations(carol) == []
        assert (await carol.get(f"/api/v1/statuses/{first['id']}")).status_code == 404

        # When bob reads it and answers in the thread
        read = await bob.post(f"/api/v1/conversations/{bobs['id']}/read")
        assert read.status_code == 200 and read.json()["unread"] is False
        assert read.json()["id"] == bobs["id"]
        answer = await dm(bob, "@alice yes!", in_reply_to_id=first["id"])
        # Then it is the same conversation, now unread for alice only
        [bobs_now] = await conversations(bob)
        [alices_now] = await conversations(alice)
        assert (bobs_now["id"], bobs_now["unread"]) == (bobs["id"], False)
        assert (alices_now["id"], alices_now["unread"]) == (alices["id"], True)
        assert alices_now["last_status"]["id"] == answer["id"]
        assert await conversations(carol) == []

        # A message in a new thread is a new conversation.
        await dm(alice, "@bob another matter")
        assert len(await conversations(bob)) == 2


async def test_participants_and_notes_to_oneself(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        group = await dm(alice, "@bob @carol planning")
        [bobs] = await conversations(bob)
        assert accts(bobs) == ["alice", "carol"]
        [carols] = await conversations(carol)
        assert accts(carols) == ["alice", "bob"] and carols["last_status"]["id"] == group["id"]
        # The same thread with fewer people is another conversation, as in Mastodon.
        await dm(bob, "@alice just us", in_reply_to_id=group["id"])
        assert [accts(c) for c in await conversations(bob)] == [["alice"], ["alice", "carol"]]
        assert len(await conversations(carol)) == 1

        note = await dm(alice, "remember the milk")
        newest = (await conversations(alice))[0]
        assert newest["last_status"]["id"] == note["id"] and accts(newest) == ["alice"]


async def test_deleting_statuses_and_conversations(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        first = await dm(alice, "@bob one")
        second = await dm(bob, "@alice two", in_reply_to_id=first["id"])
        [bobs] = await conversations(bob)
        assert bobs["last_status"]["id"] == second["id"]
        # The last status deleted: the one before it shows, unread state unchanged.
        assert (await bob.delete(f"/api/v1/statuses/{second['id']}")).status_code == 200
        [bobs] = await conversations(bob)
        [alices] = await conversations(alice)
        assert bobs["last_status"]["id"] == alices["last_status"]["id"] == first["id"]
        assert alices["unread"] is True
        # None left: the conversation goes.
        assert (await alice.delete(f"/api/v1/statuses/{first['id']}")).status_code == 200
        assert await conversations(bob) == await conversations(alice) == []

        # Deleting a conversation hides it for its owner only; statuses stay.
        third = await dm(alice, "@bob three")
        [bobs] = await conversations(bob)
        deleted = await bob.delete(f"/api/v1/conversations/{bobs['id']}")
        assert (deleted.status_code, deleted.json()) == (200, {})
        assert await conversations(bob) == []
        assert len(await conversations(alice)) == 1
        assert (await bob.get(f"/api/v1/statuses/{third['id']}")).status_code == 200
        again = await bob.delete(f"/api/v1/conversations/{bobs['id']}")
        assert (again.status_code, again.json()) == (404, {"error": "Record not found"})


async def test_others_conversations_are_not_found(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    mallory = await rig.api_client("a.test", "mallory")
    async with alice, bob, mallory:
        await dm(alice, "@bob private")
        [bobs] = await conversations(bob)
        for method, path in (
            ("POST", f"/api/v1/conversations/{bobs['id']}/read"),
            ("DELETE", f"/api/v1/conversations/{bobs['id']}"),
            ("DELETE", "/api/v1/conversations/nope"),
        ):
            response = await mallory.request(method, path)
            assert response.status_code == 404, (method, path)
        assert (await conversations(bob))[0]["unread"] is True


async def test_paging_by_last_status(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        last_ids = []
        for name in ("p1", "p2", "p3"):
            other = await rig.api_client("a.test", name)
            async with other:
                pass
            last_ids.append((await dm(alice, f"@{name} hello"))["id"])
        # Writing in the oldest conversation again makes it the most recent.
        [oldest] = [c for c in await conversations(alice) if accts(c) == ["p1"]]
        last_ids[0] = (await dm(alice, "@p1 again", in_reply_to_id=last_ids[0]))["id"]
        everyone = await conversations(alice)
        assert [accts(c) for c in everyone] == [["p1"], ["p3"], ["p2"]]
        assert everyone[0]["id"] == oldest["id"]

        first = await alice.get("/api/v1/conversations", params={"limit": 2})
        assert [accts(c) for c in first.json()] == [["p1"], ["p3"]]
        assert first.headers["link"] == (
            f'<http://a.test/api/v1/conversations?limit=2&max_id={last_ids[2]}>; rel="next", '
            f'<http://a.test/api/v1/conversations?limit=2&min_id={last_ids[0]}>; rel="prev"'
        )
        rest = await conversations(alice, limit=2, max_id=last_ids[2])
        assert [accts(c) for c in rest] == [["p2"]]
        newer = await conversations(alice, limit=1, min_id=last_ids[1])
        assert [accts(c) for c in newer] == [["p3"]]
        since = await conversations(alice, limit=1, since_id=last_ids[1])
        assert [accts(c) for c in since] == [["p1"]]
        slash = await alice.get("/api/v1/conversations/")  # as Mastodon.py asks
        assert slash.status_code == 200 and len(slash.json()) == 3


async def test_scopes(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob", scopes="read:lists write:statuses")
    reader = await rig.api_client("a.test", "bob", scopes="read:statuses")
    async with alice, bob, reader:
        await dm(alice, "@bob hi")
        assert (await bob.get("/api/v1/conversations")).status_code == 403
        [conversation] = await conversations(reader)
        for method, path in (
            ("POST", f"/api/v1/conversations/{conversation['id']}/read"),
            ("DELETE", f"/api/v1/conversations/{conversation['id']}"),
        ):
            assert (await reader.request(method, path)).status_code == 403
            assert (await bob.request(method, path)).status_code == 403
        no_token = await reader.get("/api/v1/conversations", headers={"Authorization": ""})
        assert no_token.status_code == 401


async def test_blocked_senders_start_no_conversation(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        alice_id = (await alice.get("/api/v1/accounts/verify_credentials")).json()["id"]
        assert (await bob.post(f"/api/v1/accounts/{alice_id}/block")).status_code == 200
        await dm(alice, "@bob please answer")
        assert await conversations(bob) == []
        assert len(await conversations(alice)) == 1


async def test_across_instances(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("b.test", "carol")
    async with alice, bob, carol:
        # Given alice on a.test writes to bob on b.test
        first = await dm(alice, "@bob@b.test the numbers for Q3?")
        await rig.drain()
        # Then bob's instance files it as a conversation with alice
        [bobs] = await conversations(bob)
        assert (bobs["unread"], accts(bobs)) == (True, ["alice@a.test"])
        assert bobs["last_status"]["uri"] == first["uri"]
        assert await conversations(carol) == []
        # When bob answers in the thread
        answer = await dm(bob, "@alice@a.test attached", in_reply_to_id=bobs["last_status"]["id"])
        await rig.drain()
        # Then alice's conversation moves on to the answer, unread
        [alices] = await conversations(alice)
        assert (alices["unread"], accts(alices)) == (True, ["bob@b.test"])
        assert alices["last_status"]["uri"] == answer["uri"]
        [bobs_now] = await conversations(bob)
        assert (bobs_now["id"], bobs_now["unread"]) == (bobs["id"], False)  # he answered
        # Filing the same status again (a retried inbox item) changes nothing.
        svc = rig.services("a.test")
        alice_account = await rig.account("a.test", svc.uris.actor("alice"))
        assert alice_account is not None
        async with svc.db.transaction() as conn:
            stored = await statuses.get_by_uri(conn, answer["uri"])
            assert stored is not None
            again = await store_conversations.add_status(
                conn, svc.db.new_id, stored, [alice_account.id], now=datetime.now(UTC)
            )
        assert again == [int(alices["id"])]
        assert await conversations(alice) == [alices]

        # When bob deletes his answer, alice's conversation shows her question again
        assert (await bob.delete(f"/api/v1/statuses/{answer['id']}")).status_code == 200
        await rig.drain()
        [alices] = await conversations(alice)
        assert alices["last_status"]["id"] == first["id"]


async def test_conversation_entity_for_status(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        sent = await dm(alice, "@bob for the direct stream")
        [bobs] = await conversations(bob)
    svc = rig.services("a.test")
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, int(sent["id"]))
    assert status is not None
    viewers = {name: await rig.account("a.test", svc.uris.actor(name)) for name in ("bob", "carol")}
    bob_account, carol_account = viewers["bob"], viewers["carol"]
    assert bob_account is not None and carol_account is not None
    entity = await conversation_entity_for_status(svc, bob_account, status)
    assert entity == bobs
    assert await conversation_entity_for_status(svc, carol_account, status) is None
