"""This division's directory feed for peers (federation.directory describes it): pages of the
change log of local people (store.directory), each change rendered as the person's actor
document or a tombstone.

A page holds at most PAGE_SIZE people and about PAGE_BYTES of JSON, whichever comes first,
so a reader's size cap (federation.fetch, 1 MiB) is never reached even by full profiles.
"""

from __future__ import annotations

from typing import Any

import orjson

from federation import directory as feed
from federation.uris import Uris
from outbox.actors import actor_document
from store import directory
from store.db import Database

PAGE_SIZE = 200
PAGE_BYTES = 512 * 1024


async def feed_collection(db: Database, uris: Uris) -> dict[str, Any]:
    async with db.read() as conn:
        total = await directory.listed_count(conn)
    return feed.collection_to_json(feed.feed_url(uris.instance_actor), total)


async def feed_page(
    db: Database,
    uris: Uris,
    since: int,
    *,
    limit: int = PAGE_SIZE,
    max_bytes: int = PAGE_BYTES,
) -> dict[str, Any]:
    """The changes after `since`. Its `next` is the last change included (or `since` when
    there is none, or 0 when `since` is beyond this log: the reader starts again)."""
    async with db.read() as conn:
        changes = await directory.changes_after(conn, since, limit)
        top = None if changes else await directory.head(conn)
        listed = await directory.listings(conn, [change.account_id for change in changes])
    items: list[dict[str, Any]] = []
    size = 0
    next_since = 0 if top is not None and since > top else since
    for change in changes:
        listing = listed.get(change.account_id)
        if listing is None:
            item = feed.tombstone(change.uri)
        else:
            item = actor_document(listing.account, listing.key, uris, fields=listing.fields)
            del item["@context"]  # the page's context covers its items
        encoded = len(orjson.dumps(item))
        if items and size + encoded > max_bytes:
            break
        items.append(item)
        size += encoded
        next_since = change.seq
    return feed.page_to_json(feed.feed_url(uris.instance_actor), since, items, next_since)
