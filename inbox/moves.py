"""The handler for `Move`: an account on another division moved to a new account.

Checked as Mastodon checks it before anything changes: the `Move` names its own actor as
`object` (only an account can move itself; the signature already proved the actor sent it),
the old account is one we know on another host, and the new account, fetched fresh from its
origin (or read here when it is one of ours, without HTTP), lists the old one in its
`alsoKnownAs`. Then the old account is recorded as moved (its profile points to the new one)
and its local followers are queued for the move worker (outbox.moves), which follows the new
account for each and unfollows the old one. A Move that fails a check changes nothing: it is
dropped with a log line (`NotAllowed`, the inbox worker marks it failed).
"""

from __future__ import annotations

import logging

from federation.activities import Activity
from federation.errors import FederationError
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.from_as import NotAllowed
from store import accounts, audit
from store import moves as stored
from store.errors import Conflict
from store.records import AccountRecord, InboxItemRecord

log = logging.getLogger(__name__)


async def _new_account(ctx: InboxContext, uri: str) -> tuple[AccountRecord, tuple[str, ...]]:
    """The account moved to and the URIs it says it is also known as, read fresh: ours from
    the store, another division's fetched again from its origin (and stored)."""
    if domain_of(uri) == ctx.publisher.domain:
        username = ctx.uris.local_username(uri)
        async with ctx.db.read() as conn:
            account = await accounts.get_local(conn, username) if username else None
            if account is None or account.uri != uri:
                raise NotAllowed(f"move target {uri} is no account here")
            return account, tuple(await stored.aliases(conn, account.id))
    try:
        actor = await ctx.actors.fetch_actor(uri)
        account = await ctx.actors.store(actor)
    except (FederationError, Conflict) as error:
        raise NotAllowed(f"move target {uri} unavailable: {error}") from error
    return account, actor.also_known_as


async def handle_move(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    old_uri, new_uri = activity.actor, activity.target
    if activity.object_id != old_uri:
        raise NotAllowed(f"move of {activity.object_id} by {old_uri}: one moves only oneself")
    if new_uri is None:
        raise NotAllowed(f"move by {old_uri} names no target")
    if new_uri == old_uri:
        raise NotAllowed(f"move by {old_uri} to itself")
    async with ctx.db.read() as conn:
        old = await accounts.get_by_uri(conn, old_uri)
    if old is None:
        log.info("move of an unknown account ignored actor=%s activity=%s", old_uri, activity.id)
        return
    if old.is_local or domain_of(old.uri) != domain_of(old_uri):
        raise NotAllowed(f"move of {old_uri}: not an account of the sender's host")
    if old.suspended_at is not None:
        raise NotAllowed(f"move of {old_uri}: the account is suspended here")
    new, known_as = await _new_account(ctx, new_uri)
    if old.uri not in known_as:
        raise NotAllowed(f"move of {old_uri} to {new_uri}: the new account has no such alias")
    if new.suspended_at is not None:
        raise NotAllowed(f"move of {old_uri} to {new_uri}: the new account is suspended here")
    now = ctx.clock()
    async with ctx.db.transaction() as conn:
        changed = await stored.set_moved(conn, old.id, new.id, now)
        queued = await stored.queue_followers(
            conn, ctx.db.new_id, old_account_id=old.id, new_account_id=new.id, now=now
        )
        if changed:
            await audit.append(
                conn,
                now=now,
                actor_account_id=old.id,
                actor_name=old.uri,
                action="account.move",
                target=old.uri,
                details={"to": new.uri, "activity": activity.id, "followers_queued": queued},
                origin="federation",
            )
    log.info(
        "move accepted actor=%s target=%s followers_queued=%d activity=%s",
        old_uri,
        new_uri,
        queued,
        activity.id,
    )
