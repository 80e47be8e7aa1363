"""A remote person's pinned posts, read from their `featured` collection when this division
starts following them (their Accept arrives), as Mastodon synchronises it on discovery.

`Add` / `Remove` (inbox.featured) keep pins current afterwards; without this first read, the
posts someone pinned before we knew them would show on their profile here only once they
pinned again. The collection must be on the person's host; only their own posts count,
read from the embedded copy (it comes from their host) or fetched from their origin; at
most MAX_REMOTE_PINS, from the first page. Any failure leaves the pins as they were, with a
log line: this is a courtesy, never a reason to refuse the Accept.
"""

from __future__ import annotations

import logging
from typing import Any

from federation.activities import Collection, parse_collection
from federation.errors import FederationError
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.featured import MAX_REMOTE_PINS
from inbox.from_as import note_from, store_note
from store import pins
from store.records import AccountRecord

log = logging.getLogger(__name__)


async def _first_items(ctx: InboxContext, account: AccountRecord, url: str) -> tuple[Any, ...]:
    """The collection's items, or those of its first page (embedded or on the same host)."""
    collection: Collection = parse_collection(await ctx.fetcher.fetch_json(url))
    if collection.items:
        return collection.items
    if collection.first_page is not None:
        return collection.first_page.items
    if collection.first is not None and domain_of(collection.first) == domain_of(account.uri):
        return parse_collection(await ctx.fetcher.fetch_json(collection.first)).items
    return ()


async def sync_featured(ctx: InboxContext, account: AccountRecord) -> int | None:
    """Mirror `account`'s featured collection into its pins; how many it has now, or None
    when the collection could not be read (nothing changed then)."""
    url = account.featured_url
    if account.is_local or url is None or account.actor_type == "Group":
        return None  # a community's pins are its own (outbox.groups, inbox.groups)
    if domain_of(url) != domain_of(account.uri):
        log.info("featured collection on another host ignored actor=%s url=%s", account.uri, url)
        return None
    try:
        items = await _first_items(ctx, account, url)
    except FederationError as error:
        log.info("featured collection unavailable actor=%s error=%s", account.uri, error)
        return None
    status_ids: list[int] = []
    for item in items[:MAX_REMOTE_PINS]:
        document = item if isinstance(item, dict) else None
        object_id = item if isinstance(item, str) else None
        try:
            note = await note_from(ctx, document, object_id, sender=account.uri)
            if note.attributed_to != account.uri:
                log.info(
                    "featured post of someone else ignored actor=%s post=%s", account.uri, note.id
                )
                continue
            status = await store_note(ctx, note)
        except FederationError as error:
            log.info("featured post unavailable actor=%s error=%s", account.uri, error)
            continue
        if status is not None and status.account_id == account.id and status.deleted_at is None:
            status_ids.append(status.id)
    async with ctx.db.transaction() as conn:
        await pins.replace(
            conn, ctx.db.new_id, account_id=account.id, status_ids=status_ids, now=ctx.clock()
        )
    log.info("featured collection read actor=%s pins=%d", account.uri, len(status_ids))
    return len(status_ids)
