"""A page of statuses or accounts renders in batches: the same entities as one at a time, from
a number of statements that does not grow with the page (no query per status)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import httpx
import pytest

from store import oauth, statuses
from watercooler.accounts import create_user
from watercooler.api.entities import (
    EntityRenderer,
    account_entities,
    account_entity,
    status_entities,
    status_entity,
)
from watercooler.services import Services

Instance = tuple[Services, httpx.AsyncClient]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Callable[[aiosqlite.Connection], int]:
    """How many aiosqlite calls (thread round trips) a connection has made so far."""
    made: dict[int, int] = {}
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made[id(self)] = made.get(id(self), 0) + 1
        return await execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return lambda conn: made.get(id(conn), 0)


async def test_a_page_renders_as_each_status_alone(instance: Instance) -> None:
    svc, _ = instance
    now = datetime.now(UTC)
    alice = (await create_user(svc.db, svc.uris, "alice", now=now, password="x" * 8)).account
    bob = (await create_user(svc.db, svc.uris, "bob", now=now, password="x" * 8)).account
    async with svc.db.transaction() as conn:
        app = await oauth.insert_application(
            conn, svc.db.new_id(), name="Tusky", website="https://tusky.app",
            redirect_uris=("urn:ietf:wg:oauth:2.0:oob",), scopes=("read",), client_id="c",
            client_secret_hash="h", now=now,
        )  # fmt: skip
    post = await svc.publisher.post(alice, "Hi @bob #Launch #news", application_id=app.id)
    reply = await svc.publisher.post(bob, "@alice thanks", in_reply_to=post)
    private = await svc.publisher.post(alice, "for followers", visibility="private")
    gone = await svc.publisher.post(bob, "soon deleted")
    await svc.publisher.like(bob, post)
    await svc.publisher.pin(alice, post)
    boosts = [await svc.publisher.boost(bob, post), await svc.publisher.boost(alice, gone)]
    await svc.publisher.delete(bob, gone)

    async with svc.db.read() as conn:
        found = await statuses.get_many(
            conn, [post.id, reply.id, private.id, *(b.id for b in boosts)]
        )
        page = [found[b.id] for b in boosts] + [found[reply.id], found[private.id], found[post.id]]
        for viewer in (None, alice.id, bob.id):
            alone = [
                await status_entity(
                    conn, s, viewer_account_id=viewer, uris=svc.uris, local_domain="a.test"
                )
                for s in page
            ]
            batch = await status_entities(
                conn, page, viewer_account_id=viewer, uris=svc.uris, local_domain="a.test"
            )
            assert batch == alone
        assert alone[0]["reblog"]["favourited"] is True  # bob's view of his boost of the post
        assert alone[1]["reblog"] is None  # the boosted post was deleted
        assert alone[-1]["application"] == {"name": "Tusky", "website": "https://tusky.app"}
        people = [alice, bob, alice]
        assert await account_entities(conn, people, uris=svc.uris, local_domain="a.test") == [
            await account_entity(conn, a, uris=svc.uris, local_domain="a.test") for a in people
        ]


async def test_statements_do_not_grow_with_the_page(
    instance: Instance, calls: Callable[[aiosqlite.Connection], int]
) -> None:
    svc, _ = instance
    now = datetime.now(UTC)
    authors = [
        (await create_user(svc.db, svc.uris, f"user{n}", now=now, password="x" * 8)).account
        for n in range(6)
    ]
    posted = []
    for n in range(24):
        author, other = authors[n % 6], authors[(n + 1) % 6]
        posted.append(await svc.publisher.post(author, f"post {n} @{other.username} #tag{n}"))
        if n % 3 == 0:
            posted.append(await svc.publisher.boost(other, posted[-1]))

    async def statements(count: int) -> int:
        async with svc.db.read() as conn:
            before = calls(conn)
            await status_entities(
                conn,
                posted[:count],
                viewer_account_id=authors[0].id,
                uris=svc.uris,
                local_domain="a.test",
            )
            return calls(conn) - before

    few, many = await statements(3), await statements(len(posted))
    assert many <= few <= 10  # 32 statuses: one statement per kind of fact
    async with svc.db.read() as conn:  # a renderer kept for a streaming pass loads once
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain="a.test")
        await renderer.statuses(posted, viewer_account_id=authors[0].id)
        before = calls(conn)
        await renderer.statuses(posted, viewer_account_id=authors[1].id)
        assert calls(conn) - before == 1  # only the second reader's own marks
