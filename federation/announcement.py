"""The announcement extension (docs/federation.md, "Announcements"): the object an instance
actor sends in a `Create`, `Update` or `Delete` to announce something to every division,
and its tolerant reader.

The object is typed `wc:Announcement` (`https://w3id.org/watercooler/ns#Announcement`);
`attributedTo` is the account that announces, `content` its HTML, AS2 `startTime` /
`endTime` bound when it shows, `wc:allDay` says the times are whole days. A server without
the extension sees a `Create` of an object type it does not know, and ignores it.

No I/O, no clock; `parse_announcement` raises only `ParseError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation import activities
from federation.astools import (
    NAMESPACES,
    JSONObject,
    as_list,
    format_datetime,
    get_id,
    get_prop,
    has_type,
    is_http_url,
    language_value,
    parse_datetime,
)
from federation.errors import ParseError
from federation.objects import AS_CONTEXT, Hashtag, Mention, _tag

ANNOUNCEMENT_TYPE = "Announcement"
"""The local name of `wc:Announcement`; a document may spell it compacted, prefixed or as
the full IRI, alone or in a list of types."""
CONTEXT: list[Any] = [
    AS_CONTEXT,
    {"wc": NAMESPACES["wc"], "Announcement": "wc:Announcement", "allDay": "wc:allDay"},
]
MAX_CONTENT = 100_000
"""Characters of HTML accepted in a received announcement."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Announcement:
    """An announcement as the inbox needs it; `content` is the HTML as received (the inbox
    sanitizes it before storing)."""

    id: str
    attributed_to: str
    content: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    all_day: bool = False
    published: datetime | None = None
    updated: datetime | None = None
    mentions: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()


def is_announcement(value: Any) -> bool:
    """Whether an embedded object claims to be an announcement (before any check)."""
    return isinstance(value, dict) and has_type(value, f"wc:{ANNOUNCEMENT_TYPE}")


def parse_announcement(doc: Any) -> Announcement:
    """Read an announcement of any implementation of the extension. Required: an http(s)
    `id`, an http(s) `attributedTo` (a string, an object or a list), and `content`."""
    if not is_announcement(doc):
        raise ParseError("not an announcement")
    object_id = get_id(doc)
    if not is_http_url(object_id):
        raise ParseError("announcement has no http(s) id")
    author = get_id(get_prop(doc, "attributedTo"))
    if not is_http_url(author):
        raise ParseError(f"announcement {object_id} has no attributedTo IRI")
    content = language_value(doc, "content")
    if content is None or not content.strip():
        raise ParseError(f"announcement {object_id} has no content")
    if len(content) > MAX_CONTENT:
        raise ParseError(f"announcement {object_id} is too long")
    start, end = (
        parse_datetime(get_prop(doc, "startTime")),
        parse_datetime(get_prop(doc, "endTime")),
    )
    if start is not None and end is not None and end < start:
        raise ParseError(f"announcement {object_id} ends before it starts")
    all_day = get_prop(doc, "allDay")
    tags = [tag for entry in as_list(get_prop(doc, "tag")) if (tag := _tag(entry)) is not None]
    assert object_id is not None and author is not None  # is_http_url holds
    return Announcement(
        id=object_id,
        attributed_to=author,
        content=content,
        start_time=start,
        end_time=end,
        all_day=all_day is True or all_day == "true",
        published=parse_datetime(get_prop(doc, "published")),
        updated=parse_datetime(get_prop(doc, "updated")),
        mentions=tuple(t.href for t in tags if isinstance(t, Mention)),
        hashtags=tuple(t.name for t in tags if isinstance(t, Hashtag)),
    )


@dataclass(frozen=True, slots=True)
class TagRef:
    """A mention (`href` an actor IRI, `name` `@user@domain`) or a hashtag (`name` without
    `#`, `href` its page) of an announcement we send."""

    kind: str  # "Mention" or "Hashtag"
    href: str
    name: str


def announcement_to_json(
    *,
    id: str,
    attributed_to: str,
    content: str,
    source: str,
    start_time: datetime | None,
    end_time: datetime | None,
    all_day: bool,
    published: datetime,
    updated: datetime,
    to: Sequence[str],
    tags: Sequence[TagRef] = (),
) -> JSONObject:
    """The object we send (and serve): `source` is the plain text it was rendered from."""
    doc: JSONObject = {
        "@context": CONTEXT,
        "id": id,
        "type": ANNOUNCEMENT_TYPE,
        "attributedTo": attributed_to,
        "content": content,
        "source": {"content": source, "mediaType": "text/plain"},
        "published": format_datetime(published),
        "updated": format_datetime(updated),
        "allDay": all_day,
        "to": list(dict.fromkeys(to)),
        "cc": [],
        "tag": [
            {
                "type": t.kind,
                "href": t.href,
                "name": f"#{t.name}" if t.kind == "Hashtag" else t.name,
            }
            for t in tags
        ],
    }
    if start_time is not None:
        doc["startTime"] = format_datetime(start_time)
    if end_time is not None:
        doc["endTime"] = format_datetime(end_time)
    return doc


def announcement_create(
    actor: str, document: JSONObject, *, id: str, published: datetime
) -> JSONObject:
    """The instance actor's `Create` of an announcement, addressed as the object is."""
    return activities.create(actor, document, id=id, published=published)


def announcement_update(
    actor: str, document: JSONObject, *, id: str, published: datetime
) -> JSONObject:
    return activities.update(actor, document, id=id, published=published)


def announcement_delete(
    actor: str, object_id: str, *, to: Sequence[str], id: str, published: datetime
) -> JSONObject:
    """The withdrawal: a `Delete` of a Tombstone whose `formerType` names the extension."""
    return activities.delete(
        actor, object_id, to, [], id=id, published=published, former_type="wc:Announcement"
    )
