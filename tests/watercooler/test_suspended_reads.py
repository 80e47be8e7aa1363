"""What a suspension costs the read paths: a page of statuses asks once whether suspension
hides any of them (store.moderation.hidden_statuses), not once per status; nothing about it is
kept in the process, so a suspension written by another process (the CLI, the worker) shows
on the next page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from store import moderation
from store.api_timelines import Page
from store.db import Database
from store.in_thread import in_thread
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.api.entities import EntityRenderer
from watercooler.api.timelines import visible_page

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    async with Rig([make_config("a.test")]) as rig:
        yield rig


async def page(rig: Rig, ids: list[int], viewer: int) -> tuple[list[int], int]:
    """(the ids `viewer` is shown of `ids`, how many statements asked about suspensions)."""
    svc = rig.services("a.test")
    seen: list[str] = []
    async with svc.db.read() as conn:
        await conn.set_trace_callback(seen.append)
        try:
            renderer = EntityRenderer(conn, uris=svc.uris, local_domain="a.test")
            shown = await in_thread(
                conn, visible_page, renderer, ids, Page(), viewer, now=NOW, context="home"
            )
        finally:
            await conn.set_trace_callback(None)
    asked = sum("suspended_at IS NOT NULL" in sql for sql in seen)
    return [status.id for status in shown.statuses], asked


async def test_a_page_asks_about_suspensions_once(rig: Rig) -> None:
    # Given a dozen posts of alice's and bob's boost of one
    svc = rig.services("a.test")
    alice, bob = await rig.user("a.test", "alice"), await rig.user("a.test", "bob")
    posts = [await svc.publisher.post(alice, f"post {n}") for n in range(12)]
    boost = await svc.publisher.boost(bob, posts[0])
    ids = [boost.id, *(post.id for post in reversed(posts))]

    # Then a page of three and a page of thirteen each ask once
    assert await page(rig, ids[:3], bob.id) == (ids[:3], 1)
    assert await page(rig, ids, bob.id) == (ids, 1)


async def test_a_suspension_by_another_process_shows_on_the_next_page(rig: Rig) -> None:
    # Given alice's post, bob's boost of it and bob's own post, all shown to carol
    svc = rig.services("a.test")
    alice, bob = await rig.user("a.test", "alice"), await rig.user("a.test", "bob")
    carol = await rig.user("a.test", "carol")
    post = await svc.publisher.post(alice, "hello")
    boost = await svc.publisher.boost(bob, post)
    own = await svc.publisher.post(bob, "mine")
    ids = [own.id, boost.id, post.id]
    assert (await page(rig, ids, carol.id))[0] == ids

    # When another process (its own connection to the same file) suspends alice
    other = Database(svc.db.path)
    await other.open()
    try:
        async with other.transaction() as conn:
            assert await moderation.suspend(conn, alice.id, NOW)
        # Then the running app hides her post and the boost of it at once
        assert (await page(rig, ids, carol.id))[0] == [own.id]

        # and when it lifts the suspension, they show again at once
        async with other.transaction() as conn:
            assert await moderation.unsuspend(conn, alice.id) is not None
        assert (await page(rig, ids, carol.id))[0] == ids
    finally:
        await other.close()
