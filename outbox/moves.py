"""Moves going out: the `Move` of a local account and the `Update` of its actor, and the
worker that carries local followers of a moved account (local or remote) over to its new
account, as Mastodon's `UnfollowFollowWorker` does: follow the new account with the same
choices (boosts in home, a notification per post), then unfollow the old one.

The worker takes a few followers at a time from `move_follows` (store.moves), so a move of an
account with thousands of followers is never done inside one request or one inbox item.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from federation import activities
from outbox.actors import actor_document
from outbox.loop import run_until_stopped
from outbox.publish import Publisher, PublishError
from store import accounts, api_queries, follows, keys, notifications
from store import moves as stored
from store.db import Connection
from store.records import AccountRecord

log = logging.getLogger(__name__)

BATCH = 16
"""Followers carried over per turn of the worker."""

MOVE_NOTIFICATION = "move"
"""The notification a follower gets when the account they follow moved (Pleroma's type:
`account` is the old account, `target` the new one)."""


async def _peer_and_follower_inboxes(
    publisher: Publisher, conn: Connection, account: AccountRecord
) -> list[str | None]:
    """Remote followers' servers (shared inbox preferred) and every peer's instance actor:
    a peer where no one follows the account yet still learns where it went."""
    inboxes: list[str | None] = list(await follows.remote_follower_inboxes(conn, account.id))
    inboxes.extend(await publisher._relay_inboxes(conn))
    return inboxes


async def send_actor_update(
    publisher: Publisher, conn: Connection, account: AccountRecord
) -> dict[str, Any]:
    """Queue an `Update` of the local account's actor (with its aliases and `movedTo`) to its
    remote followers and the peers, in the caller's transaction."""
    updated = await accounts.get_by_id(conn, account.id)
    key = await keys.get_for_account(conn, account.id)
    assert updated is not None and key is not None
    fields = await api_queries.profile_fields(conn, account.id)
    links = await stored.actor_links(conn, account.id)
    now = publisher.clock()
    document = activities.update(
        updated.uri,
        actor_document(updated, key, publisher.uris, fields=fields, links=links),
        id=f"{updated.uri}#updates/{publisher.db.new_id()}",
        published=now,
    )
    inboxes = await _peer_and_follower_inboxes(publisher, conn, updated)
    await publisher._enqueue(conn, updated, document, inboxes, object_uri=updated.uri)
    return document


async def send_move(
    publisher: Publisher, conn: Connection, old: AccountRecord, new_uri: str
) -> dict[str, Any]:
    """Queue the `Move` of the local account `old` to `new_uri`: to its remote followers'
    servers and to every peer, in the caller's transaction."""
    move_id = publisher.uris.activity(old.username, "moves", publisher.db.new_id())
    followers = old.followers_url or publisher.uris.followers(old.username)
    document = activities.move(
        move_id, old.uri, new_uri, published=publisher.clock(), to=[followers]
    )
    inboxes = await _peer_and_follower_inboxes(publisher, conn, old)
    await publisher._enqueue(conn, old, document, inboxes, object_uri=old.uri)
    return document


class FollowerMover:
    """The worker of moves: each queued local follower of a moved account follows the new
    account (a local one that approves followers takes them without asking, as Mastodon's
    `bypass_locked`), unfollows the old one and gets a `move` notification. Time comes from
    the publisher's clock. `run_once()` in tests, `run_forever(stop)` in the server."""

    def __init__(self, publisher: Publisher, *, idle_seconds: float = 1.0) -> None:
        self.publisher = publisher
        self.idle_seconds = idle_seconds

    async def run_once(self) -> int:
        pub = self.publisher
        async with pub.db.read() as conn:
            due = await stored.due_follows(conn, BATCH)
        for job in due:
            await self._carry_over(job)
        return len(due)

    async def _carry_over(self, job: stored.MoveFollow) -> None:
        pub = self.publisher
        async with pub.db.read() as conn:
            found = await accounts.get_many(
                conn, (job.follower_account_id, job.old_account_id, job.new_account_id)
            )
            following = await follows.get(conn, job.follower_account_id, job.old_account_id)
            notify, reblogs = await follows.options(
                conn, job.follower_account_id, job.old_account_id
            )
        follower = found.get(job.follower_account_id)
        old, new = found.get(job.old_account_id), found.get(job.new_account_id)
        moved = None
        if follower is not None and old is not None and new is not None and following is not None:
            moved = await self._refollow(follower, old, new, notify=notify, reblogs=reblogs)
        async with pub.db.transaction() as conn:
            if await stored.mark_done(conn, job.id, pub.clock()) and moved:
                assert follower is not None and old is not None
                await notifications.notify(
                    conn,
                    pub.db.new_id(),
                    MOVE_NOTIFICATION,
                    recipient_id=follower.id,
                    sender_id=old.id,
                    ref=str(job.new_account_id),
                    now=pub.clock(),
                )
        pub.notify()

    async def _refollow(
        self,
        follower: AccountRecord,
        old: AccountRecord,
        new: AccountRecord,
        *,
        notify: bool,
        reblogs: bool,
    ) -> bool:
        """Follow `new` as `old` was followed, then unfollow `old`; False if `new` cannot be
        followed (a block either way): the follower then keeps following `old`."""
        pub = self.publisher
        try:
            record = await pub.follow(follower, new, notify=notify, reblogs=reblogs)
        except PublishError as error:
            log.info(
                "move: follower kept on the old account follower=%s old=%s new=%s reason=%s",
                follower.uri,
                old.uri,
                new.uri,
                error,
            )
            return False
        if new.is_local and record.state == follows.PENDING:
            await pub.answer_follow(new, follower, record.uri, accept=True)
        await pub.unfollow(follower, old)
        log.info(
            "move: follower carried over follower=%s old=%s new=%s", follower.uri, old.uri, new.uri
        )
        return True

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(
            self.run_once, stop, name="move worker", idle_seconds=self.idle_seconds
        )
