"""Typed views of activities and collections, the builders of the activities we send, and
`parse_document`, which reads any ActivityStreams document into the right view.

This module owns the envelope: who did what (`Activity`: type, actor, object, audience) and
the pages of a collection (`Collection`). The object inside an activity is kept as the raw
embedded dict, or as its IRI, so that the inbox can read it with `parse_object`,
`parse_actor` or `parse_activity` once it knows what it expects. The builders emit the
shapes Mastodon 4.x sends: `to` and `cc` always arrays, the full Public IRI, `published` on
every activity, `actor` a string.

It must not do I/O, read the clock (callers pass `published`, so tests control time) or
sign anything. Like every `parse_*` function in `federation`, the ones here raise only
`ParseError` on bad input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from federation.astools import (
    PUBLIC,
    JSONObject,
    as_list,
    format_datetime,
    get_id,
    get_prop,
    get_types,
    is_http_url,
    language_value,
    parse_datetime,
)
from federation.errors import ParseError
from federation.objects import (
    ACTIVITY_TYPES,
    AS_CONTEXT,
    COLLECTION_TYPES,
    NOTE_TYPES,
    Note,
    Tombstone,
    parse_addressees,
    parse_object,
    parse_tombstone,
    tombstone_to_json,
)
from federation.vocab import ACTOR_TYPES, Actor, parse_actor

# Keys of an activity we embed that only make sense at the top level of a document.
_TOP_LEVEL_ONLY = ("@context", "signature", "proof")


def _iri(value: Any) -> str | None:
    found = get_id(value)
    return found if is_http_url(found) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    """An activity as the inbox needs it.

    `id` is `None` when the sender gave none (GoToSocial's `Delete`). `object_id` is the IRI
    of the (first) object, `object_ids` all of them (a `Flag` names an account and its
    posts); `object` is the embedded object as received, or `None` when only an IRI was
    sent, and `object_type` its first type. `content` is a report's comment (`Flag`) or a
    reaction (`EmojiReact`, Misskey's `_misskey_reaction` on a `Like`).
    """

    id: str | None
    type: str
    actor: str
    object_id: str | None = None
    object_ids: tuple[str, ...] = ()
    object: JSONObject | None = field(default=None, hash=False)
    object_type: str | None = None
    target: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    audience: str | None = None
    published: datetime | None = None
    content: str | None = None


def _activity_type(doc: JSONObject) -> str:
    types = get_types(doc)
    if not types:
        raise ParseError("activity has no type")
    return next((t for t in types if t in ACTIVITY_TYPES), types[0])


def parse_activity(doc: Any) -> Activity:
    """Read an activity of any server into an `Activity`.

    Required: a type and an `actor` that is (or is an object whose `id` is) an absolute
    http(s) URL. `id` may be absent, but an `id` that is present must be an absolute http(s)
    URL: an activity is deduplicated by it.
    """
    if not isinstance(doc, dict):
        raise ParseError(f"activity must be a JSON object, not {type(doc).__name__}")
    activity_type = _activity_type(doc)
    raw_id = doc.get("id")
    if raw_id is not None and not is_http_url(raw_id):
        raise ParseError(f"{activity_type} has an id that is not an absolute http(s) URL")
    actor = _iri(get_prop(doc, "actor"))
    if actor is None:
        raise ParseError(f"{activity_type} {raw_id or 'without id'} has no actor IRI")
    raw_object = get_prop(doc, "object")
    embedded = next((o for o in as_list(raw_object) if isinstance(o, dict)), None)
    objects = [item for item in as_list(raw_object) if not isinstance(item, list | tuple)]
    object_ids = tuple(iri for item in objects if (iri := _iri(item)) is not None)
    object_types = get_types(embedded)
    content = language_value(doc, "content")
    if content is None and isinstance(reaction := doc.get("_misskey_reaction"), str):
        content = reaction
    return Activity(
        id=raw_id,
        type=activity_type,
        actor=actor,
        object_id=object_ids[0] if object_ids else None,
        object_ids=object_ids,
        object=embedded,
        object_type=object_types[0] if object_types else None,
        target=_iri(get_prop(doc, "target")),
        to=parse_addressees(get_prop(doc, "to")),
        cc=parse_addressees(get_prop(doc, "cc")),
        audience=_iri(get_prop(doc, "audience")),
        published=parse_datetime(get_prop(doc, "published")),
        content=content,
    )


# --- collections ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Collection:
    """A collection or one of its pages. `items` are raw (IRIs or embedded documents).

    `id` is `None` for an embedded page without one (Mastodon's `replies.first`). `first` is
    the IRI of the first page; when the first page is embedded, it is also in `first_page`.
    """

    id: str | None
    type: str
    total_items: int | None = None
    first: str | None = None
    first_page: Collection | None = None
    next: str | None = None
    prev: str | None = None
    part_of: str | None = None
    items: tuple[Any, ...] = field(default=(), hash=False)

    @property
    def ordered(self) -> bool:
        return self.type.startswith("Ordered")


def parse_collection(doc: Any, *, _embedded: bool = False) -> Collection:
    """Read a (possibly ordered) collection or page; `orderedItems` and `items` both count."""
    if not isinstance(doc, dict):
        raise ParseError(f"collection must be a JSON object, not {type(doc).__name__}")
    types = get_types(doc)
    collection_type = next((t for t in types if t in COLLECTION_TYPES), None)
    if collection_type is None:
        raise ParseError("document is not a collection")
    total = get_prop(doc, "totalItems")
    first = get_prop(doc, "first")
    first_page = None
    if isinstance(first, dict) and not _embedded and get_types(first):
        try:
            first_page = parse_collection(first, _embedded=True)
        except ParseError:
            first_page = None
    items = get_prop(doc, "orderedItems")
    if items is None:
        items = get_prop(doc, "items")
    return Collection(
        id=_iri(doc.get("id")),
        type=collection_type,
        total_items=total if isinstance(total, int) and not isinstance(total, bool) else None,
        first=_iri(first),
        first_page=first_page,
        next=_iri(get_prop(doc, "next")),
        prev=_iri(get_prop(doc, "prev")),
        part_of=_iri(get_prop(doc, "partOf")),
        items=tuple(as_list(items)),
    )


# --- any document ---------------------------------------------------------------------------

Document = Actor | Activity | Collection | Note | Tombstone


def parse_document(doc: Any) -> Document:
    """Read any ActivityStreams document into its view, choosing by type.

    Actors, collections, Tombstones and known activity types first; then known post types
    (a Mobilizon `Event` carries an `actor` but is a post); then anything else with an
    `actor` is an activity and the rest is read as a post. WebFinger JRDs and NodeInfo are
    not ActivityStreams: `federation.discovery_docs` reads those.
    """
    if not isinstance(doc, dict):
        raise ParseError(f"document must be a JSON object, not {type(doc).__name__}")
    types = set(get_types(doc))
    if types & set(ACTOR_TYPES):
        return parse_actor(doc)
    if types & set(COLLECTION_TYPES):
        return parse_collection(doc)
    if "Tombstone" in types:
        return parse_tombstone(doc)
    if types & ACTIVITY_TYPES:
        return parse_activity(doc)
    if not types:
        raise ParseError("document has no type")
    if get_prop(doc, "actor") is not None and not types & set(NOTE_TYPES):
        return parse_activity(doc)
    return parse_object(doc)


# --- builders -------------------------------------------------------------------------------

Published = datetime | str


def _time(value: Published) -> str:
    return format_datetime(value) if isinstance(value, datetime) else value


def _embed(document: Mapping[str, Any]) -> JSONObject:
    """A copy of a document to embed: no `@context`, no LD signature or proof."""
    return {k: v for k, v in document.items() if k not in _TOP_LEVEL_ONLY}


def _envelope(
    type_: str,
    id: str,
    actor: str,
    published: Published,
    to: Sequence[str],
    cc: Sequence[str],
    object: Any,
    context: Any = AS_CONTEXT,
) -> JSONObject:
    """Mastodon's key order: @context, id, type, actor, published, to, cc, object."""
    return {
        "@context": context,
        "id": id,
        "type": type_,
        "actor": actor,
        "published": _time(published),
        "to": list(dict.fromkeys(to)),
        "cc": list(dict.fromkeys(cc)),
        "object": object,
    }


def _addressees(doc: Mapping[str, Any], key: str) -> list[str]:
    return list(parse_addressees(doc.get(key)))


def create(
    actor: str,
    note_json: Mapping[str, Any],
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    id: str | None = None,
    published: Published | None = None,
) -> JSONObject:
    """A `Create` of a post, as Mastodon sends it: the note's context on the activity.

    Unset, `to`/`cc` are the note's, `id` is the note's id + `/activity` and `published` the
    note's `published`, as in Mastodon.
    """
    when = published if published is not None else note_json.get("published")
    if not isinstance(when, datetime | str):
        raise ValueError("create() needs published, or a note with published")
    return _envelope(
        "Create",
        id or f"{note_json['id']}/activity",
        actor,
        when,
        _addressees(note_json, "to") if to is None else to,
        _addressees(note_json, "cc") if cc is None else cc,
        _embed(note_json),
        context=note_json.get("@context", AS_CONTEXT),
    )


def update(
    actor: str,
    object_json: Mapping[str, Any],
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    id: str | None = None,
    published: Published | None = None,
) -> JSONObject:
    """An `Update` of an edited post or of a profile; the object's context on the activity.

    Unset, `to`/`cc` are the object's (a profile has none: then to Public), `published` the
    object's `updated`, and `id` Mastodon's `<object id>#updates/<unix time>`.
    """
    when = published if published is not None else object_json.get("updated")
    if isinstance(when, str):
        when = parse_datetime(when) or when
    if not isinstance(when, datetime | str):
        raise ValueError("update() needs published, or an object with updated")
    if id is None:
        if not isinstance(when, datetime):
            raise ValueError("update() cannot derive an id from an unreadable time")
        id = f"{object_json['id']}#updates/{int(when.timestamp())}"
    default_to = _addressees(object_json, "to") if "to" in object_json else [PUBLIC]
    return _envelope(
        "Update",
        id,
        actor,
        when,
        default_to if to is None else to,
        _addressees(object_json, "cc") if cc is None else cc,
        _embed(object_json),
        context=object_json.get("@context", AS_CONTEXT),
    )


def delete(
    actor: str,
    object_id: str,
    to: Sequence[str],
    cc: Sequence[str],
    id: str | None = None,
    *,
    published: Published,
    former_type: str | None = None,
) -> JSONObject:
    """A `Delete` whose object is Mastodon's Tombstone `{id, type, atomUri}`.

    `id` defaults to Mastodon's `<object id>#delete`.
    """
    tombstone = tombstone_to_json(Tombstone(id=object_id, former_type=former_type))
    return _envelope(
        "Delete",
        id or f"{object_id}#delete",
        actor,
        published,
        to,
        cc,
        _embed(tombstone),
        context=tombstone["@context"],
    )


def follow(
    id: str,
    actor: str,
    object: str,
    *,
    published: Published,
    to: Sequence[str] | None = None,
    cc: Sequence[str] = (),
) -> JSONObject:
    """A `Follow` of an actor, addressed to it."""
    return _envelope("Follow", id, actor, published, [object] if to is None else to, cc, object)


def _answer(
    type_: str,
    id: str,
    actor: str,
    follow_activity_json: Mapping[str, Any] | str,
    published: Published,
    to: Sequence[str] | None,
) -> JSONObject:
    if isinstance(follow_activity_json, str):
        inner: Any = follow_activity_json
        follower = None
    else:
        inner = _embed(follow_activity_json)
        follower = get_id(follow_activity_json.get("actor"))
    default_to = [follower] if follower else []
    return _envelope(type_, id, actor, published, default_to if to is None else to, [], inner)


def accept(
    id: str,
    actor: str,
    follow_activity_json: Mapping[str, Any] | str,
    *,
    published: Published,
    to: Sequence[str] | None = None,
) -> JSONObject:
    """An `Accept` of a Follow, embedding it as Mastodon does; addressed to the follower."""
    return _answer("Accept", id, actor, follow_activity_json, published, to)


def reject(
    id: str,
    actor: str,
    follow_activity_json: Mapping[str, Any] | str,
    *,
    published: Published,
    to: Sequence[str] | None = None,
) -> JSONObject:
    """A `Reject` of a Follow, embedding it; addressed to the follower."""
    return _answer("Reject", id, actor, follow_activity_json, published, to)


def undo(
    id: str,
    actor: str,
    inner_activity_json: Mapping[str, Any],
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    *,
    published: Published,
) -> JSONObject:
    """An `Undo` embedding the activity it takes back; unset `to`/`cc` are the inner's.

    An inner activity with no `to` (a `Follow`, a `Block`) is undone towards its object.
    """
    default_to = _addressees(inner_activity_json, "to")
    if not default_to and (target := _iri(inner_activity_json.get("object"))):
        default_to = [target]
    return _envelope(
        "Undo",
        id,
        actor,
        published,
        default_to if to is None else to,
        _addressees(inner_activity_json, "cc") if cc is None else cc,
        _embed(inner_activity_json),
    )


def like(
    id: str,
    actor: str,
    object: str,
    *,
    published: Published,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
) -> JSONObject:
    """A `Like` (favourite) of a post; pass the post's author as `to` so it is delivered."""
    return _envelope("Like", id, actor, published, to, cc, object)


def announce(
    id: str,
    actor: str,
    object_iri: str,
    to: Sequence[str],
    cc: Sequence[str],
    published: Published,
) -> JSONObject:
    """An `Announce` (boost) of a post by its IRI, as Mastodon sends it."""
    return _envelope("Announce", id, actor, published, to, cc, object_iri)


def block(
    id: str,
    actor: str,
    object: str,
    *,
    published: Published,
    to: Sequence[str] | None = None,
) -> JSONObject:
    """A `Block` of an actor, addressed to it (Mastodon tells the blocked server)."""
    return _envelope("Block", id, actor, published, [object] if to is None else to, [], object)


def add(
    id: str,
    actor: str,
    object: str,
    target: str,
    *,
    published: Published,
    to: Sequence[str],
    cc: Sequence[str] = (),
) -> JSONObject:
    """An `Add` of an object to a collection: a pinned post (`object`, by its IRI) added to
    the actor's featured collection (`target`), as Mastodon announces a pin."""
    return {**_envelope("Add", id, actor, published, to, cc, object), "target": target}


def remove(
    id: str,
    actor: str,
    object: str,
    target: str,
    *,
    published: Published,
    to: Sequence[str],
    cc: Sequence[str] = (),
) -> JSONObject:
    """A `Remove` of an object from a collection: an unpinned post leaving the featured one."""
    return {**_envelope("Remove", id, actor, published, to, cc, object), "target": target}


def move(
    id: str,
    actor: str,
    target: str,
    *,
    published: Published,
    to: Sequence[str],
    cc: Sequence[str] = (),
) -> JSONObject:
    """A `Move` of an account to its new one, as Mastodon sends it: `object` is the moving
    actor itself, `target` the new actor (whose `alsoKnownAs` must list the old one);
    addressed to the old account's followers."""
    return {**_envelope("Move", id, actor, published, to, cc, actor), "target": target}
