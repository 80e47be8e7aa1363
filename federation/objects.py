"""Immutable typed views of content objects: notes, their tags, attachments and polls.

This module owns the translation between the JSON of a post on the wire and `Note`, and of a
deleted post and `Tombstone`: one `parse_*` / `*_to_json` pair each, in the style of
`federation.vocab`. `Note` stands for every kind of post we show: `Note`, `Question`,
`Article`, `Page`, and the kinds other servers send that we tolerate (`Video`, `Event`,
`ChatMessage`, ...). A `parse_*` function is where untrusted JSON ends: it accepts what real
servers send (via `federation.astools`) and raises `federation.errors.ParseError`, never
`KeyError` or `TypeError`. `note_to_json` emits what Mastodon 4.x emits.

It must not do I/O or fetch anything (references stay IRIs), and it does not sanitise HTML:
`content`, `summary` and `name` are remote HTML exactly as received, to be cleaned before
they are stored or shown. It knows nothing of `store/` records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation.astools import (
    NAMESPACES,
    PUBLIC,
    JSONObject,
    as_list,
    first_str,
    format_datetime,
    get_id,
    get_image_url,
    get_prop,
    get_types,
    get_url,
    has_type,
    is_http_url,
    is_public,
    language_value,
    local_name,
    parse_datetime,
)
from federation.errors import ParseError
from federation.vocab import ACTOR_TYPES

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"

NOTE_TYPES = ("Note", "Question", "Article", "Page", "Video", "Audio", "Image", "Event",
              "ChatMessage")  # fmt: skip
"""Types we read as a post. Others with an id and a type are read too, as their first type."""

# Old Mastodon versions wrote the public collection with http:; astools knows the https form,
# `Public` and `as:Public`.
_HTTP_PUBLIC = "http://www.w3.org/ns/activitystreams#Public"

ACTIVITY_TYPES = frozenset({"Create", "Update", "Delete", "Follow", "Accept", "Reject",
                            "TentativeAccept", "TentativeReject", "Undo", "Announce", "Like",
                            "Dislike", "EmojiReact", "EmojiReaction", "Block", "Flag", "Move",
                            "Add", "Remove", "Lock", "Invite", "Join", "Leave", "Offer",
                            "Ignore", "Listen", "Read", "View", "Arrive", "Travel"})  # fmt: skip
"""Activity types (AS 2.0 and the extensions peers send: Misskey/Pleroma reactions, Lemmy)."""

COLLECTION_TYPES = ("Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage")

# Types that are not posts: an actor, an activity or a collection handed to `parse_object` is
# a mistake of the caller or a hostile document, so it is refused rather than misread.
_NOT_POSTS = frozenset({*ACTOR_TYPES, *ACTIVITY_TYPES, *COLLECTION_TYPES, "Tombstone"})

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


def note_context() -> list[Any]:
    """The `@context` of a served note: Mastodon 4.x's. A fresh list each call."""
    return [
        AS_CONTEXT,
        {
            "ostatus": "http://ostatus.org#",
            "atomUri": "ostatus:atomUri",
            "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
            "conversation": "ostatus:conversation",
            "sensitive": "as:sensitive",
            "toot": "http://joinmastodon.org/ns#",
            "votersCount": "toot:votersCount",
            "Hashtag": "as:Hashtag",
        },
    ]


ORG_ONLY_TERMS = {"wc": NAMESPACES["wc"], "orgOnly": "wc:orgOnly"}
"""The `@context` terms of our organisation-only marker (`"orgOnly": true` on a post)."""

QUESTION_TERMS = {
    "wc": NAMESPACES["wc"],
    "isQuestion": "wc:isQuestion",
    "schema": NAMESPACES["schema"],
    "acceptedAnswer": {"@id": "schema:acceptedAnswer", "@type": "@id"},
}
"""The `@context` terms of a question and its accepted answer (docs/federation.md)."""
_SCHEMA_ORG = ("http://schema.org/", "https://schema.org/")  # schema.org's own IRIs


def tombstone_context() -> list[Any]:
    """The `@context` Mastodon gives a `Delete` of a post (the Tombstone carries `atomUri`)."""
    return [AS_CONTEXT, {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}]


# --- audiences ------------------------------------------------------------------------------


def is_public_addressee(value: Any) -> bool:
    """Whether an addressee is the public collection, in any of the four spellings seen."""
    return is_public(value) or get_id(value) == _HTTP_PUBLIC


def parse_addressees(value: Any) -> tuple[str, ...]:
    """A `to` / `cc` / `bto` value as IRIs, the public collection always as its full IRI.

    A string, an object or a list of either; entries without an IRI are dropped, repeats kept
    once, order kept.
    """
    found: list[str] = []
    for item in as_list(value):
        if isinstance(item, list | tuple):
            continue
        iri = PUBLIC if is_public_addressee(item) else get_id(item)
        if iri is not None and iri not in found:
            found.append(iri)
    return tuple(found)


# --- tags, attachments, polls ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mention:
    """A `Mention` tag: `href` is the mentioned actor's IRI, `name` like `@user@domain`."""

    href: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Hashtag:
    """A `Hashtag` tag; `name` is kept without the leading `#`, in the case it was written."""

    href: str | None
    name: str


@dataclass(frozen=True, slots=True)
class Emoji:
    """A custom emoji (`toot:Emoji`): `name` like `:blobcat:`, drawn from `icon_url`."""

    name: str
    icon_url: str
    id: str | None = None


Tag = Mention | Hashtag | Emoji


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A media attachment; `name` is its alt text."""

    type: str
    url: str
    media_type: str | None = None
    name: str | None = None
    width: int | None = None
    height: int | None = None
    blurhash: str | None = None
    focal_point: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class PollOption:
    """One answer of a poll and the votes it has had, as the poll's author counts them."""

    name: str
    votes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Poll:
    """The poll of a `Question`: `anyOf` (several answers allowed) or `oneOf`."""

    options: tuple[PollOption, ...]
    multiple: bool = False
    end_time: datetime | None = None
    voters_count: int | None = None
    closed: datetime | None = None
    """When the poll ended, once it has (Mastodon's `closed`)."""


def _count(value: Any) -> int | None:
    """A non-negative integer, or `None` (booleans are not counts)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _iri(value: Any) -> str | None:
    found = get_id(value)
    return found if is_http_url(found) else None


def _tag(entry: Any) -> Tag | None:
    """One `tag` entry we understand, else `None` (Lemmy's CommunityPostTag, Links, ...)."""
    if not isinstance(entry, dict):
        return None
    name = language_value(entry, "name")
    if has_type(entry, "Mention"):
        href = _iri(get_prop(entry, "href")) or _iri(entry)
        return Mention(href=href, name=name or None) if href else None
    if has_type(entry, "Hashtag"):
        bare = name.strip().lstrip("#") if name else ""
        return Hashtag(href=_iri(get_prop(entry, "href")), name=bare) if bare else None
    if has_type(entry, "Emoji"):
        icon = get_image_url(get_prop(entry, "icon"))
        return Emoji(name=name, icon_url=icon, id=_iri(entry)) if name and icon else None
    return None


def _focal_point(value: Any) -> tuple[float, float] | None:
    """Mastodon's `focalPoint`: two numbers from -1.0 to 1.0, else `None`."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    x, y = float(value[0]), float(value[1])
    return (x, y) if -1.0 <= x <= 1.0 and -1.0 <= y <= 1.0 else None


def _attachment(entry: Any) -> Attachment | None:
    """One attachment with a usable URL; a bare URL string counts as a `Link`."""
    if isinstance(entry, str):
        return Attachment(type="Link", url=entry) if is_http_url(entry) else None
    if not isinstance(entry, dict):
        return None
    url = get_url(get_prop(entry, "url"), media_type=None) or get_url(
        get_prop(entry, "href"), media_type=None
    )
    if url is None:
        return None
    types = get_types(entry)
    return Attachment(
        type=types[0] if types else "Document",
        url=url,
        media_type=_text(get_prop(entry, "mediaType")),
        name=language_value(entry, "name"),
        width=_count(get_prop(entry, "width")) or None,
        height=_count(get_prop(entry, "height")) or None,
        blurhash=_text(get_prop(entry, "blurhash")),
        focal_point=_focal_point(get_prop(entry, "focalPoint")),
    )


def _poll(doc: JSONObject) -> Poll | None:
    """The options of a `Question`; Mastodon counts votes in each option's `replies`."""
    if not has_type(doc, "Question"):
        return None
    one_of, any_of = get_prop(doc, "oneOf"), get_prop(doc, "anyOf")
    multiple = one_of is None and any_of is not None
    options: list[PollOption] = []
    for entry in as_list(any_of if multiple else one_of):
        name = language_value(entry, "name")
        if name is None:
            continue
        replies = get_prop(entry, "replies")
        votes = _count(get_prop(replies, "totalItems")) if isinstance(replies, dict) else None
        options.append(PollOption(name=name, votes=votes or 0))
    return Poll(
        options=tuple(options),
        multiple=multiple,
        end_time=parse_datetime(get_prop(doc, "endTime")),
        voters_count=_count(get_prop(doc, "votersCount")),
        closed=parse_datetime(get_prop(doc, "closed")),
    )


# --- notes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """A post as we need it: who wrote it, to whom, what it says, what it answers.

    `to` and `cc` hold IRIs with the public collection always spelt in full. `audience` is
    the group the post was made in (Lemmy's `audience`, PeerTube's channel), apart from the
    author. `conversation` is Mastodon's `conversation` or else the FEP-7888 `context`.
    `content`, `summary` and `name` are unsanitised remote HTML; `summary` is the content
    warning and is `None` rather than empty. `org_only` is Watercooler's `wc:orgOnly` marker
    as the document states it: whether to believe it (only from a peer) is not decided here.
    """

    id: str
    type: str
    attributed_to: str | None = None
    content: str = ""
    summary: str | None = None
    name: str | None = None
    url: str | None = None
    in_reply_to: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    audience: str | None = None
    tags: tuple[Tag, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    sensitive: bool = False
    conversation: str | None = None
    replies_iri: str | None = None
    language: str | None = None
    poll: Poll | None = None
    org_only: bool = False
    is_question: bool = False  # `wc:isQuestion`: replies are answers, one may be accepted
    accepted_answer: str | None = None  # `schema:acceptedAnswer`: the accepted reply's id

    @property
    def mentions(self) -> tuple[Mention, ...]:
        return tuple(t for t in self.tags if isinstance(t, Mention))

    @property
    def hashtags(self) -> tuple[Hashtag, ...]:
        return tuple(t for t in self.tags if isinstance(t, Hashtag))

    @property
    def emojis(self) -> tuple[Emoji, ...]:
        return tuple(t for t in self.tags if isinstance(t, Emoji))


def _authors(value: Any) -> tuple[str | None, str | None]:
    """`attributedTo` as (author, group): the first person-like actor, and a Group if any.

    PeerTube sends `[{"type": "Person", ...}, {"type": "Group", ...}]`: the Person wrote the
    video, the Group (channel) is where it was posted. A plain IRI is taken as the author,
    since its type cannot be known without fetching it.
    """
    author: str | None = None
    group: str | None = None
    for item in as_list(value):
        iri = _iri(item)
        if iri is None:
            continue
        if has_type(item, "Group"):
            group = group or iri
        elif author is None:
            author = iri
    return author, group


def _language(doc: JSONObject) -> str | None:
    """The language of a post: the single key of `contentMap`, else Lemmy's `language`."""
    mapping = get_prop(doc, "contentMap")
    if isinstance(mapping, dict) and len(mapping) == 1:
        (tag,) = mapping
    else:
        tag = get_prop(get_prop(doc, "language"), "identifier")
    if isinstance(tag, str) and tag != "und" and _LANGUAGE_TAG.match(tag):
        return tag
    return None


def _conversation(doc: JSONObject) -> str | None:
    for key in ("conversation", "context"):
        if isinstance(found := get_id(get_prop(doc, key)), str):
            return found
    return None


def _object_type(doc: JSONObject) -> str:
    """The post type: the first of `NOTE_TYPES` among the types, else the first type."""
    types = get_types(doc)
    label = doc.get("id") if isinstance(doc.get("id"), str) else "without id"
    if not types:
        raise ParseError(f"object {label} has no type")
    refused = [t for t in types if t in _NOT_POSTS]
    if refused:
        raise ParseError(f"document {label} is a {refused[0]}, not a post")
    return next((t for t in types if t in NOTE_TYPES), types[0])


def parse_object(doc: Any) -> Note:
    """Read a post of any server into a `Note`.

    Required: an absolute http(s) `id` (an object must live somewhere for us to check its
    origin) and a type that is not an actor, activity, collection or Tombstone. Everything
    else is optional and dropped when unusable rather than failing the whole post.
    """
    if not isinstance(doc, dict):
        raise ParseError(f"object must be a JSON object, not {type(doc).__name__}")
    note_type = _object_type(doc)
    note_id = doc.get("id")
    if not isinstance(note_id, str) or not is_http_url(note_id):
        raise ParseError(f"{note_type} has no absolute http(s) id")
    author, group = _authors(get_prop(doc, "attributedTo"))
    tags = (_tag(entry) for entry in as_list(get_prop(doc, "tag")))
    attachments = (_attachment(entry) for entry in as_list(get_prop(doc, "attachment")))
    return Note(
        id=note_id,
        type=note_type,
        attributed_to=author,
        content=language_value(doc, "content") or "",
        summary=language_value(doc, "summary") or None,
        name=language_value(doc, "name"),
        url=get_url(get_prop(doc, "url")),
        in_reply_to=_iri(get_prop(doc, "inReplyTo")),
        published=parse_datetime(get_prop(doc, "published")),
        updated=parse_datetime(get_prop(doc, "updated")),
        to=parse_addressees(get_prop(doc, "to")),
        cc=parse_addressees(get_prop(doc, "cc")),
        audience=_iri(get_prop(doc, "audience")) or group,
        tags=tuple(tag for tag in tags if tag is not None),
        attachments=tuple(a for a in attachments if a is not None),
        sensitive=get_prop(doc, "sensitive") is True,
        conversation=_conversation(doc),
        replies_iri=_iri(get_prop(doc, "replies")),
        language=_language(doc),
        poll=_poll(doc),
        org_only=get_prop(doc, "orgOnly") is True,
        is_question=_is_true(get_prop(doc, "isQuestion")),
        accepted_answer=_accepted_answer(doc),
    )


def _is_true(value: Any) -> bool:
    """`true`, also as expanded JSON-LD (`[{"@value": true}]`)."""
    items = as_list(value)
    if len(items) != 1:
        return False
    item = items[0]
    return item is True or (isinstance(item, dict) and item.get("@value") is True)


def _accepted_answer(doc: JSONObject) -> str | None:
    """`acceptedAnswer` compacted, prefixed, or expanded with Mastodon's `schema` namespace
    or schema.org's own IRIs: an IRI, an object or a list of one."""
    value = get_prop(doc, "acceptedAnswer")
    for base in _SCHEMA_ORG:
        if value is None:
            value = doc.get(f"{base}acceptedAnswer")
    return _iri(value)


def _tag_to_json(tag: Tag) -> JSONObject:
    if isinstance(tag, Mention):
        doc: JSONObject = {"type": "Mention", "href": tag.href}
        if tag.name is not None:
            doc["name"] = tag.name
        return doc
    if isinstance(tag, Hashtag):
        doc = {"type": "Hashtag"}
        if tag.href is not None:
            doc["href"] = tag.href
        doc["name"] = f"#{tag.name}"
        return doc
    doc = {"id": tag.id} if tag.id is not None else {}
    doc |= {"type": "Emoji", "name": tag.name, "icon": {"type": "Image", "url": tag.icon_url}}
    return doc


def _attachment_to_json(attachment: Attachment) -> JSONObject:
    """Mastodon's order: type, mediaType, url, name (null without alt text), blurhash,
    focalPoint, size."""
    doc: JSONObject = {"type": attachment.type}
    if attachment.media_type is not None:
        doc["mediaType"] = attachment.media_type
    doc["url"] = attachment.url
    doc["name"] = attachment.name
    if attachment.blurhash is not None:
        doc["blurhash"] = attachment.blurhash
    if attachment.focal_point is not None:
        doc["focalPoint"] = list(attachment.focal_point)
    if attachment.width is not None:
        doc["width"] = attachment.width
    if attachment.height is not None:
        doc["height"] = attachment.height
    return doc


def _replies_to_json(replies_iri: str) -> JSONObject:
    """The empty first page Mastodon serves for a new post's replies."""
    separator = "&" if "?" in replies_iri else "?"
    return {
        "id": replies_iri,
        "type": "Collection",
        "first": {
            "type": "CollectionPage",
            "next": f"{replies_iri}{separator}only_other_accounts=true&page=true",
            "partOf": replies_iri,
            "items": [],
        },
    }


def _poll_to_json(poll: Poll) -> JSONObject:
    options = [
        {"type": "Note", "name": o.name, "replies": {"type": "Collection", "totalItems": o.votes}}
        for o in poll.options
    ]
    doc: JSONObject = {"anyOf" if poll.multiple else "oneOf": options}
    if poll.end_time is not None:
        doc["endTime"] = format_datetime(poll.end_time)
    if poll.voters_count is not None:
        doc["votersCount"] = poll.voters_count
    if poll.closed is not None:
        doc["closed"] = format_datetime(poll.closed)
    return doc


def note_to_json(note: Note) -> JSONObject:
    """The post we serve and embed in `Create`, in Mastodon 4.x's key order and shape.

    `summary` and `inReplyTo` are `null` when unset, `to`, `cc`, `attachment` and `tag` are
    always arrays; `contentMap` appears when the language is known, `updated` only after an
    edit, `name` when set (titles of Articles and Pages, poll votes). `context` repeats
    `conversation` for FEP-7888 readers. `parse_object(note_to_json(n)) == n` holds.
    """
    doc: JSONObject = {"@context": note_context(), "id": note.id, "type": note.type}
    if note.name is not None:
        doc["name"] = note.name
    doc["summary"] = note.summary or None
    doc["inReplyTo"] = note.in_reply_to
    if note.published is not None:
        doc["published"] = format_datetime(note.published)
    if note.url is not None:
        doc["url"] = note.url
    if note.attributed_to is not None:
        doc["attributedTo"] = note.attributed_to
    doc["to"] = list(note.to)
    doc["cc"] = list(note.cc)
    if note.audience is not None:
        doc["audience"] = note.audience
    doc["sensitive"] = note.sensitive
    doc["atomUri"] = note.id
    doc["inReplyToAtomUri"] = note.in_reply_to
    if note.conversation is not None:
        doc["conversation"] = note.conversation
        doc["context"] = note.conversation
    doc["content"] = note.content
    if note.language is not None:
        doc["contentMap"] = {note.language: note.content}
    if note.updated is not None:
        doc["updated"] = format_datetime(note.updated)
    doc["attachment"] = [_attachment_to_json(a) for a in note.attachments]
    doc["tag"] = [_tag_to_json(t) for t in note.tags]
    if note.replies_iri is not None:
        doc["replies"] = _replies_to_json(note.replies_iri)
    if note.poll is not None:
        doc |= _poll_to_json(note.poll)
    if note.is_question or note.accepted_answer is not None:
        doc["@context"][1].update(QUESTION_TERMS)
        if note.is_question:
            doc["isQuestion"] = True
        if note.accepted_answer is not None:
            doc["acceptedAnswer"] = note.accepted_answer
    if note.org_only:
        doc["@context"][1].update(ORG_ONLY_TERMS)
        doc["orgOnly"] = True
    return doc


# --- tombstones -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Tombstone:
    """What is left of a deleted object: its id, and what it was and when it went, if said."""

    id: str
    type: str = "Tombstone"
    former_type: str | None = None
    deleted: datetime | None = None


def parse_tombstone(doc: Any) -> Tombstone:
    """Read a `Tombstone` (Mastodon's `{id, type, atomUri}` or Lemmy's bare `{id, type}`)."""
    if not isinstance(doc, dict):
        raise ParseError(f"tombstone must be a JSON object, not {type(doc).__name__}")
    if not has_type(doc, "Tombstone"):
        raise ParseError("document is not a Tombstone")
    tombstone_id = doc.get("id")
    if not isinstance(tombstone_id, str) or not is_http_url(tombstone_id):
        raise ParseError("Tombstone has no absolute http(s) id")
    former = first_str(get_prop(doc, "formerType"))
    return Tombstone(
        id=tombstone_id,
        former_type=local_name(former) if former else None,
        deleted=parse_datetime(get_prop(doc, "deleted")),
    )


def tombstone_to_json(tombstone: Tombstone) -> JSONObject:
    """Mastodon's Tombstone `{id, type, atomUri}`, with `formerType` and `deleted` when known."""
    doc: JSONObject = {"@context": tombstone_context(), "id": tombstone.id, "type": "Tombstone"}
    if tombstone.former_type is not None:
        doc["formerType"] = tombstone.former_type
    if tombstone.deleted is not None:
        doc["deleted"] = format_datetime(tombstone.deleted)
    doc["atomUri"] = tombstone.id
    return doc
