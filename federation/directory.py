"""The directory feed: how one division tells its peers who works there, incrementally.

The feed lives under the instance actor (`{instance actor}/directory`) and is served only on
a signed GET from a peer. `?since=N` is a page (`OrderedCollectionPage`) of the people whose
actor documents changed after the change number N, oldest change first: a `Person` (or
`Service`) document as the actor itself would be served, or a `Tombstone` (`formerType`
Person) for someone who left (disabled, suspended, deleted). Someone who left the directory
but not the organisation appears with `discoverable: false`. Every page has a `next` link
whose `since` is where to read from next, on the last page as well: a reader stores it, and
stops when it no longer moves. A `next` below the `since` asked means the feed's log began
again (a restored database): read it again from there.

Without `since`, the feed is an `OrderedCollection` giving `totalItems` (people listed) and
the `first` page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from federation import vocab
from federation.astools import as_list, format_datetime, get_id, get_prop, has_type
from federation.errors import ParseError
from federation.policy import domain_of

FEED_SUFFIX = "/directory"
MAX_ITEMS = 500
"""Items read from one page, whatever a peer sends."""
JSONObject = dict[str, Any]


def feed_url(instance_actor_uri: str) -> str:
    return instance_actor_uri.rstrip("/") + FEED_SUFFIX


def page_url(feed: str, since: int) -> str:
    return f"{feed}?since={since}"


def since_of(url: str) -> int | None:
    """The `since` of a page URL; None without a usable one."""
    values = parse_qs(urlsplit(url).query).get("since", [])
    if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 19:
        return None
    return int(values[0])


def tombstone(uri: str, deleted: datetime | None = None) -> JSONObject:
    document: JSONObject = {"id": uri, "type": "Tombstone", "formerType": "Person"}
    if deleted is not None:
        document["deleted"] = format_datetime(deleted)
    return document


def collection_to_json(feed: str, total: int) -> JSONObject:
    return {
        "@context": vocab.actor_context(),
        "id": feed,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": page_url(feed, 0),
    }


def page_to_json(feed: str, since: int, items: list[JSONObject], next_since: int) -> JSONObject:
    """A page; `items` are actor documents (without their own `@context`) and tombstones."""
    return {
        "@context": vocab.actor_context(),
        "id": page_url(feed, since),
        "type": "OrderedCollectionPage",
        "partOf": feed,
        "next": page_url(feed, next_since),
        "orderedItems": items,
    }


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    """A page as read: people to store, actor ids of those who left, where to read next."""

    people: tuple[vocab.Actor, ...]
    gone: tuple[str, ...]
    next_since: int | None
    skipped: int
    """Items left out: unusable, or not on the feed's own domain."""


def parse_directory_page(document: Any, domain: str) -> DirectoryPage:
    """Read a page of `domain`'s feed. Only actors of `domain` itself are taken (a division
    speaks for its own people); other items count as skipped, as do broken ones."""
    if not isinstance(document, dict) or not has_type(
        document, "OrderedCollectionPage", "CollectionPage"
    ):
        raise ParseError("not a page of a directory feed")
    raw_items = get_prop(document, "orderedItems")
    if raw_items is None:
        raw_items = get_prop(document, "items")
    people: list[vocab.Actor] = []
    gone: list[str] = []
    listed = as_list(raw_items)
    skipped = max(0, len(listed) - MAX_ITEMS)
    for item in listed[:MAX_ITEMS]:
        item_id = get_id(item)
        if not isinstance(item, dict) or item_id is None or domain_of(item_id) != domain:
            skipped += 1
        elif has_type(item, "Tombstone"):
            gone.append(item_id)
        else:
            try:
                people.append(vocab.parse_actor(item))
            except ParseError:
                skipped += 1
    next_link = get_id(get_prop(document, "next"))
    next_since = None
    if next_link is not None and domain_of(next_link) == domain:
        next_since = since_of(next_link)
    return DirectoryPage(tuple(people), tuple(gone), next_since, skipped)
