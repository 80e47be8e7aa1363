"""Full-text search of statuses (`/api/v2/search?type=statuses`) through the FTS5 index:
Mastodon's operators, phrases and prefixes, relevance, paging, visibility enforced in the
query, re-indexing of edits and deletes, posts received from a peer, hostile query syntax,
and the indexer itself (off the request path, safe against an edit while it works)."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from store import api_search, search_index
from tests.live import LiveInstance, free_port
from tests.rig import Rig
from tests.watercooler.conftest import account_id, post
from watercooler import search_syntax
from watercooler.search_indexer import index_row


async def found(client: httpx.AsyncClient, q: str, **params: str) -> list[str]:
    """The texts of the statuses a search answers, in its order."""
    response = await client.get("/api/v2/search", params={"q": q, "type": "statuses", **params})
    assert response.status_code == 200, (q, response.text)
    return [status["content"] for status in response.json()["statuses"]]


async def query_ids(rig: Rig, domain: str, viewer: int, q: str) -> list[int]:
    """What the store's search query itself answers (no check after it)."""
    svc = rig.services(domain)
    async with svc.db.read() as conn:
        search = await search_syntax.parse(conn, q, viewer=viewer, local_domain=domain)
        return await api_search.status_ids_matching(
            conn, search, viewer, now=datetime.now(UTC), limit=40
        )


def html(text: str) -> str:
    return f"<p>{text}</p>"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_words_phrases_prefixes_and_operators(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        review = await post(alice, "Quarterly budget review on Friday", language="de")
        await post(alice, "The budget spreadsheet is ready", in_reply_to_id=review["id"])
        notes = await post(alice, "Kubernetes upgrade notes https://example.com/notes")
        upload = await alice.post(
            "/api/v2/media",
            files={"file": ("s.jpg", jpeg(), "image/jpeg")},
            data={"description": "whiteboard sketch"},
        )
        assert upload.status_code in (200, 202), upload.text
        await post(alice, "Design session", media_ids=[upload.json()["id"]])
        await post(alice, "hidden numbers", spoiler_text="budget spoilers", sensitive=True)
        await post(alice, "#Planning for the offsite with @bob")
        await post(bob, "budget for the team lunch")
        assert await found(carol, "budget") == []  # not indexed until the indexer has run
        await rig.drain()

        everything = [
            "<p>budget for the team lunch</p>",
            "<p>hidden numbers</p>",
            "<p>The budget spreadsheet is ready</p>",
            "<p>Quarterly budget review on Friday</p>",
        ]
        assert await found(carol, "budget") == everything  # newest first
        assert await found(carol, "BUDGET") == everything
        assert await found(carol, "budg*") == everything
        assert await found(carol, "budget from:alice") == everything[1:]
        assert await found(carol, "budget from:@alice") == everything[1:]
        assert await found(carol, "budget from:@alice@a.test") == everything[1:]
        assert await found(alice, "budget from:me") == everything[1:]
        assert await found(carol, "budget from:nobody") == []
        without_reply = [everything[0], everything[1], everything[3]]
        assert await found(carol, "budget -spreadsheet") == without_reply
        assert await found(carol, '"budget review"') == [everything[3]]
        assert await found(carol, '"review budget"') == []
        assert await found(carol, 'budget -"team lunch"') == everything[1:]
        assert await found(carol, "is:reply budget") == [everything[2]]
        assert await found(carol, "-is:reply budget") == without_reply
        assert await found(carol, "is:sensitive") == [everything[1]]
        assert await found(carol, "language:de") == [everything[3]]
        assert await found(carol, "has:media") == ["<p>Design session</p>"]
        assert await found(carol, "has:image") == ["<p>Design session</p>"]
        assert await found(carol, "has:video") == []
        assert await found(carol, "whiteboard") == ["<p>Design session</p>"]  # the description
        assert await found(carol, "has:link") == [notes["content"]]  # not tags or mentions
        assert len(await found(carol, "#planning")) == 1
        assert len(await found(carol, "#PLANNING offsite")) == 1
        assert await found(carol, "#plan") == []  # a hashtag is matched whole
        assert await found(carol, "-#planning offsite") == []
        today = datetime.now(UTC).date()
        yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
        assert await found(carol, f"budget during:{today}") == everything
        assert await found(carol, f"budget after:{yesterday} before:{tomorrow}") == everything
        assert await found(carol, f"budget before:{today}") == []
        assert await found(carol, f"budget after:{today}") == []
        assert await found(carol, "budget in:all") == everything
        assert await found(carol, "budget in:public") == everything

        # in:library: one's own posts, mentions, bookmarks and favourites
        assert (await carol.post(f"/api/v1/statuses/{notes['id']}/bookmark")).status_code == 200
        assert (await carol.post(f"/api/v1/statuses/{review['id']}/favourite")).status_code == 200
        await post(carol, "my own budget idea")
        await rig.drain()
        assert await found(carol, "budget in:library") == [
            "<p>my own budget idea</p>",
            everything[3],
        ]
        assert len(await found(carol, "in:library")) == 3
        assert len(await found(bob, "in:library")) == 2  # bob's post and the mention


async def test_relevance_and_paging(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        short = await post(alice, "offsite offsite agenda")
        for n in range(4):
            await post(alice, f"long note {n} about many things, the offsite among them, and more")
        await rig.drain()
        newest = await found(alice, "offsite")
        assert len(newest) == 5 and newest[-1] == short["content"]
        ranked = await found(alice, "offsite", order="relevance")
        assert ranked[0] == short["content"] and sorted(ranked) == sorted(newest)
        assert await found(alice, "offsite", limit="2") == newest[:2]
        assert await found(alice, "offsite", limit="2", offset="2") == newest[2:4]
        assert await found(alice, "offsite", limit="2", offset="4") == newest[4:]
        page = await alice.get(
            "/api/v2/search", params={"q": "offsite", "type": "statuses", "limit": "2"}
        )
        oldest_id = page.json()["statuses"][-1]["id"]
        assert await found(alice, "offsite", max_id=oldest_id) == newest[2:]
        bad = await alice.get("/api/v2/search", params={"q": "x", "order": "random"})
        assert bad.status_code == 400 and "error" in bad.json()


async def test_visibility_blocks_and_mutes_in_the_query(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    dave = await rig.api_client("a.test", "dave")
    erin = await rig.api_client("b.test", "erin")
    frank = await rig.api_client("b.test", "frank")
    async with alice, bob, carol, dave, erin, frank:
        alice_id = await account_id(bob, "alice")
        assert (await bob.post(f"/api/v1/accounts/{alice_id}/follow")).status_code == 200
        remote_alice = await account_id(erin, "@alice@a.test")
        assert (await erin.post(f"/api/v1/accounts/{remote_alice}/follow")).status_code == 200
        await rig.drain()
        await post(alice, "roadmap for followers", visibility="private")
        await post(alice, "roadmap for @dave only", visibility="direct")
        public = await post(alice, "roadmap for everyone")
        await rig.drain()
        assert len(await found(alice, "roadmap")) == 3
        assert await found(bob, "roadmap") == [
            html("roadmap for everyone"),
            html("roadmap for followers"),
        ]
        assert await found(carol, "roadmap") == ["<p>roadmap for everyone</p>"]
        everyone = [int(public["id"])]
        carol_id = int(await account_id(carol, "carol"))
        dave_id = int(await account_id(dave, "dave"))
        assert await query_ids(rig, "a.test", carol_id, "roadmap") == everyone
        assert len(await query_ids(rig, "a.test", dave_id, "roadmap")) == 2
        assert len(await found(dave, "roadmap")) == 2
        # on the peer: the follower sees the followers-only post, a colleague does not
        assert len(await found(erin, "roadmap")) == 2
        assert len(await found(frank, "roadmap")) == 1
        assert len(await found(erin, "roadmap from:@alice@a.test")) == 2

        alice_for_carol = await account_id(carol, "alice")
        assert (await carol.post(f"/api/v1/accounts/{alice_for_carol}/mute")).status_code == 200
        assert await found(carol, "roadmap") == []
        assert (await carol.post(f"/api/v1/accounts/{alice_for_carol}/unmute")).status_code == 200
        assert len(await found(carol, "roadmap")) == 1
        assert (await carol.post(f"/api/v1/accounts/{alice_for_carol}/block")).status_code == 200
        assert await found(carol, "roadmap") == []
        carol_for_alice = await account_id(alice, "carol")
        assert (await alice.post(f"/api/v1/accounts/{carol_for_alice}/block")).status_code == 200
        assert (await carol.post(f"/api/v1/accounts/{alice_for_carol}/unblock")).status_code == 200
        assert await found(carol, "roadmap") == []  # the author blocks the searcher


async def test_edits_and_deletes_reindex_here_and_on_the_peer(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    erin = await rig.api_client("b.test", "erin")
    async with alice, erin:
        remote_alice = await account_id(erin, "@alice@a.test")
        assert (await erin.post(f"/api/v1/accounts/{remote_alice}/follow")).status_code == 200
        await rig.drain()
        status = await post(alice, "draft wording of the memo")
        await rig.drain()
        for client in (alice, erin):
            assert len(await found(client, "draft memo")) == 1
        edited = await alice.put(
            f"/api/v1/statuses/{status['id']}", json={"status": "final wording of the memo"}
        )
        assert edited.status_code == 200
        await rig.drain()
        for client in (alice, erin):
            assert await found(client, "draft") == []
            assert len(await found(client, "final memo")) == 1
        assert (await alice.delete(f"/api/v1/statuses/{status['id']}")).status_code == 200
        await rig.drain()
        for client in (alice, erin):
            assert await found(client, "memo") == []
        async with rig.services("a.test").db.read() as conn:
            assert await search_index.pending_count(conn) == 0
            async with conn.execute("SELECT count(*) FROM status_search") as cursor:
                assert (await cursor.fetchone())[0] == 0  # the deleted post left the index


async def test_query_syntax_is_only_ever_text(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        await post(alice, "plain budget words")
        await post(alice, "near the meta column of all things")
        await rig.drain()
        hostile = [
            "budget OR nothing",
            "NEAR(budget words)",
            "body:budget",
            "meta:all",
            '"unclosed budget',
            "*",
            "^budget",
            "budget AND",
            "(",
            "-",
            "from:",
            "has:nothing",
            "budget'); DROP TABLE statuses; --",
            '""',
            "-budget",
            "budget -budget",
            "x" * 2000,
        ]
        for q in hostile:
            await found(alice, q)  # 200 and an answer, whatever the syntax
        assert await found(alice, "budget OR nothing") == []  # OR is a word here
        assert await found(alice, "meta:all") == []
        assert await found(alice, "near meta all") == ["<p>near the meta column of all things</p>"]
        assert await found(alice, '"unclosed budget') == []
        assert await found(alice, "-budget") == []  # only exclusions ask for nothing
        assert await found(alice, "budget'); DROP TABLE statuses; --") == []
        assert len(await found(alice, "budget")) == 1


async def test_the_indexer_is_off_the_request_path_and_loses_no_edit(rig: Rig) -> None:
    """Posting only queues the status; the indexer's batch is written with exactly the queue
    entries it read, so an edit that lands while it works stays queued and is indexed next."""
    svc = rig.services("a.test")
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        status = await post(alice, "first words")
        async with svc.db.read() as conn:
            assert await search_index.pending_count(conn) >= 1
            entries = await search_index.queued(conn, 100)
            sources = await search_index.sources(conn, [e.status_id for e in entries])
        rows = [index_row(source) for source in sources.values()]
        edited = await alice.put(
            f"/api/v1/statuses/{status['id']}", json={"status": "second words"}
        )
        assert edited.status_code == 200
        async with svc.db.transaction() as conn:
            await search_index.write(conn, entries, rows)  # the batch read before the edit
        async with svc.db.read() as conn:
            assert [e.status_id for e in await search_index.queued(conn, 100)] == [
                int(status["id"])
            ]
        assert len(await found(alice, "first")) == 1  # the index is stale for now
        await rig.drain()
        assert await found(alice, "first") == []
        assert await found(alice, "second") == ["<p>second words</p>"]


def test_a_running_server_indexes_by_itself(tmp_path: Path) -> None:
    """The server's own indexer loop (not a test's drain) makes a new post findable."""
    port = free_port()
    live = LiveInstance(f"127.0.0.1:{port}", tmp_path, port=port)
    live.write_config(peers=[], resolve={})
    live.cli("user", "add", "alice", "--password-stdin", stdin="correct horse battery\n")
    live.start()
    try:
        headers = {"Authorization": f"Bearer {live.token('alice')}"}
        with httpx.Client(base_url=live.url, headers=headers, timeout=10) as client:
            made = client.post("/api/v1/statuses", json={"status": "findable by itself"})
            assert made.status_code == 200, made.text
            answer: list[dict[str, Any]] = []
            deadline = time.monotonic() + 10
            while not answer and time.monotonic() < deadline:
                response = client.get("/api/v2/search", params={"q": "findable"})
                answer = response.json()["statuses"]
                if not answer:
                    time.sleep(0.05)
            assert [s["id"] for s in answer] == [made.json()["id"]]
    finally:
        live.stop()
