"""FEP-1b12 groups on the receiving side: posts to our communities, and what remote groups
(Lemmy communities, other Watercooler divisions' communities) announce to us.

- A `Create` of a post addressed to one of our communities (`to`, `cc`, `audience` or a
  Mention) is stored as any post, then the community announces it if the author may post
  there (`outbox.groups.Communities.may_announce`: a member or moderator, a public, unlisted
  or organisation post).
- An `Announce` whose object is an activity (FEP-1b12's `Announce(Create(Page))`) is
  unwrapped: a Create's post is taken from the embedded copy only when the group's host is
  the post's host, otherwise fetched from its origin (a group may not speak for another
  host); it is then the group's boost, as a Mastodon-style `Announce` of the post would be.
  An announced `Delete` takes the post out of the group (and deletes it, when the group's
  host is the author's); an announced `Add`/`Remove` on the group's `featured` pins or
  unpins it. Other announced activities (Lemmy's Like, Lock, ...) are ignored.
- A `Follow` of our community by an account it banned is answered with a `Reject`.
- A remote group's own `Add`/`Remove` on its featured collection pins any post we hold (a
  group pins its members' posts, not its own).

Every other case is passed to the handler of the type (`inbox.posts`, `inbox.reactions`,
`inbox.follows`, `inbox.featured`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from federation.activities import Activity, parse_activity
from federation.errors import FederationError
from federation.fetch import ObjectGone, ObjectNotFound
from federation.objects import ACTIVITY_TYPES, Mention, parse_object
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.featured import handle_add as handle_featured_add
from inbox.featured import handle_remove as handle_featured_remove
from inbox.follows import handle_follow as handle_plain_follow
from inbox.from_as import POST_TYPES, NotAllowed, note_from, store_note
from inbox.manifest import handle_update as handle_manifest_update
from inbox.posts import handle_create as handle_post_create
from inbox.posts import handle_delete as handle_post_delete
from inbox.posts import handle_update as handle_post_update
from inbox.reactions import handle_announce as handle_boost
from outbox.groups import Communities, is_group
from store import accounts, pins, reactions, statuses
from store.records import AccountRecord, InboxItemRecord, StatusRecord

log = logging.getLogger(__name__)


async def _local_groups(ctx: InboxContext, iris: set[str]) -> list[AccountRecord]:
    """Our communities among `iris` (actor ids or profile URLs)."""
    found: dict[int, AccountRecord] = {}
    async with ctx.db.read() as conn:
        for iri in sorted(iris):
            name = ctx.uris.local_username(iri)
            account = await accounts.get_local(conn, name) if name else None
            if account is not None and is_group(account):
                found[account.id] = account
    return list(found.values())


def _addressed(activity: Activity) -> set[str]:
    """Every IRI the Create and its post are addressed to, its audience and its mentions."""
    iris = {*activity.to, *activity.cc}
    if activity.audience:
        iris.add(activity.audience)
    if activity.object is not None:
        try:
            note = parse_object(activity.object)
        except FederationError:
            return iris
        iris.update((*note.to, *note.cc))
        iris.update(tag.href for tag in note.tags if isinstance(tag, Mention))
        if note.audience:
            iris.add(note.audience)
    return iris


async def handle_create(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    await handle_post_create(ctx, activity, item)
    if activity.object_id is None or activity.object_type not in (None, *POST_TYPES):
        return
    groups = await _local_groups(ctx, _addressed(activity))
    if not groups:
        return
    post_id = activity.object_id
    if activity.object is not None and isinstance(activity.object.get("id"), str):
        post_id = activity.object["id"]
    async with ctx.db.read() as conn:
        status = await statuses.get_by_uri(conn, post_id)
    if status is None:
        return
    communities = Communities(ctx.publisher)
    inner = json.loads(item.body)
    for group in groups:
        if await communities.announce(group, status, inner) is None:
            log.info("community did not announce community=%s status=%s", group.uri, status.uri)


async def handle_announce(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    if activity.object is None or activity.object_type not in ACTIVITY_TYPES:
        await handle_boost(ctx, activity, item)  # Mastodon's Announce of a post
        return
    inner = parse_activity(activity.object)
    if inner.type in ("Create", "Update"):
        await _announced_post(ctx, activity, inner, item)
    elif inner.type == "Delete":
        await _announced_delete(ctx, activity, inner, item)
    elif inner.type in ("Add", "Remove"):
        await _group_pin(ctx, activity.actor, inner, pinned=inner.type == "Add")
    else:
        log.info("announced activity ignored activity_id=%s type=%s", activity.id, inner.type)


async def _announced_post(
    ctx: InboxContext, announce: Activity, inner: Activity, item: InboxItemRecord
) -> None:
    """The post of an announced Create: trusted as embedded only from its own host (the
    group's host, for Lemmy's local posts), else fetched; then the group's boost of it."""
    if inner.object_type not in (None, *POST_TYPES):
        log.info("announced object ignored activity_id=%s type=%s", announce.id, inner.type)
        return
    post_id = inner.object_id
    if inner.object is not None and isinstance(inner.object.get("id"), str):
        post_id = inner.object["id"]
    async with ctx.db.read() as conn:
        known = await statuses.get_by_uri(conn, post_id) if post_id else None
    if known is None:  # ours (a local member's post) or seen already: nothing to fetch
        note = await note_from(ctx, inner.object, inner.object_id, sender=announce.actor)
        if note.attributed_to != inner.actor:
            raise NotAllowed(f"{inner.actor} cannot create a post of {note.attributed_to}")
        await _know_author(ctx, inner.actor)
        known = await store_note(ctx, note)
        if known is None:
            return
    elif inner.type == "Update":  # an edit of a post we hold: not a new share
        if not known.local:  # ours change only by their authors, here
            await _announced_edit(ctx, announce, inner, item)
        return
    await handle_boost(
        ctx, replace(announce, object_id=known.uri, object=None, object_type=None), item
    )


async def _announced_edit(
    ctx: InboxContext, announce: Activity, inner: Activity, item: InboxItemRecord
) -> None:
    """An edit the group passes on: applied as the author's own Update would be, with the
    post taken from the embedded copy only when the group's host is the post's host."""
    trusted = domain_of(announce.actor) == domain_of(inner.object_id or "")
    edit = inner if trusted else replace(inner, object=None, object_type=None)
    try:
        await handle_post_update(ctx, edit, item)
    except NotAllowed as error:
        log.info("announced edit ignored activity_id=%s error=%s", announce.id, error)


async def _know_author(ctx: InboxContext, author: str) -> None:
    """Fetch the author of an announced post if we do not know them yet, so that a missing
    or unreadable actor fails as what it is (gone, not found, unparsable: dropped; a peer
    not answering: retried), not as a handler error."""
    async with ctx.db.read() as conn:
        if await accounts.get_by_uri(conn, author) is not None:
            return
    await ctx.actors.store(await ctx.actors.fetch_actor(author))


async def _announced_delete(
    ctx: InboxContext, announce: Activity, inner: Activity, item: InboxItemRecord
) -> None:
    """A post the group took out (Lemmy's removal by a moderator) or its author deleted."""
    if inner.object_id is None:
        return
    group = await ctx.actors.get(announce.actor)
    if group is None:
        raise FederationError(f"group {announce.actor} unavailable")
    async with ctx.db.transaction() as conn:
        status = await statuses.get_by_uri(conn, inner.object_id)
        if status is None:
            return
        boost = await statuses.get_boost(conn, group.id, status.id)
        if boost is not None:
            await statuses.mark_deleted(conn, boost.id, ctx.clock())
            await statuses.adjust_count(conn, status.id, "reblogs_count", -1)
            await pins.unpin(conn, account_id=group.id, status_id=status.id)
            log.info("post left remote group group=%s status=%s", group.uri, status.uri)
    same_host = domain_of(inner.actor) == domain_of(announce.actor) == domain_of(inner.object_id)
    # the group's server vouches for its own user's deletion; another's, the origin confirms
    if same_host or await _gone_at_origin(ctx, inner.object_id):
        try:
            await handle_post_delete(ctx, inner, item)
        except NotAllowed:
            pass  # a moderator's removal, not the author's deletion: the post stays theirs


async def _gone_at_origin(ctx: InboxContext, object_id: str) -> bool:
    try:
        await ctx.fetcher.fetch_json(object_id)
    except (ObjectGone, ObjectNotFound):
        return True
    except FederationError as error:
        log.info("announced delete not confirmed object=%s error=%s", object_id, error)
    return False


async def handle_delete(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """A Delete, and if it deleted a post our communities shared, their passing it on."""
    await handle_post_delete(ctx, activity, item)
    if activity.object_id is None or activity.object_id == activity.actor:
        return
    async with ctx.db.read() as conn:
        status = await statuses.get_by_uri(conn, activity.object_id)
    if status is not None and status.deleted_at is not None and not status.local:
        await Communities(ctx.publisher).pass_on(status, json.loads(item.body))


async def handle_update(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """An Update, and if it edited a post our communities shared, their passing it on (only
    an edit that was applied: a replayed or older Update is passed on to no one)."""
    before = await _post(ctx, activity.object_id)
    await handle_manifest_update(ctx, activity, item)
    after = await _post(ctx, activity.object_id)
    if after is None or before is None or after.local or after.deleted_at is not None:
        return
    if after.edited_at is not None and after.edited_at != before.edited_at:
        await Communities(ctx.publisher).pass_on(after, json.loads(item.body))


async def _post(ctx: InboxContext, uri: str | None) -> StatusRecord | None:
    if uri is None:
        return None
    async with ctx.db.read() as conn:
        return await statuses.get_by_uri(conn, uri)


async def _group_pin(ctx: InboxContext, group_uri: str, change: Activity, *, pinned: bool) -> bool:
    """A remote group pins (or unpins) a post on its own featured collection; True if the
    activity was that (handled or dropped), False if it is someone else's business."""
    async with ctx.db.read() as conn:
        group = await accounts.get_by_uri(conn, group_uri)
    if group is None or group.is_local or not is_group(group) or change.object_id is None:
        return False
    if change.target is None or change.target != group.featured_url:
        return False
    async with ctx.db.transaction() as conn:
        status = await statuses.get_by_uri(conn, change.object_id)
        if status is None:
            log.info("group pin of an unknown post ignored post=%s", change.object_id)
            return True
        if pinned:
            await pins.pin(
                conn, ctx.db.new_id(), account_id=group.id, status_id=status.id, now=ctx.clock()
            )
        else:
            await pins.unpin(conn, account_id=group.id, status_id=status.id)
    return True


async def handle_add(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    if not await _group_pin(ctx, activity.actor, activity, pinned=True):
        await handle_featured_add(ctx, activity, item)


async def handle_remove(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    if not await _group_pin(ctx, activity.actor, activity, pinned=False):
        await handle_featured_remove(ctx, activity, item)


async def handle_follow(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """A Follow of one of our communities by someone it banned gets a Reject."""
    groups = await _local_groups(ctx, {activity.object_id or ""})
    if groups:
        follower = await ctx.actors.get(activity.actor)
        if follower is not None:
            async with ctx.db.read() as conn:
                banned = await reactions.is_blocked_either_way(conn, groups[0].id, follower.id)
            if banned:
                log.info("follow of community refused: banned actor=%s", activity.actor)
                await Communities(ctx.publisher).refuse_follow(
                    groups[0], follower, json.loads(item.body)
                )
                return
    await handle_plain_follow(ctx, activity, item)
