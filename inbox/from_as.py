"""Remote notes into our store: sanitised, linked to their thread, fanned out to readers.

Shared by Create, Announce (a boosted post we have not seen) and reply-parent fetching.
An object is trusted only from its own host: an embedded copy from elsewhere is re-fetched
from its origin. Reply chains are followed up to MAX_REPLY_DEPTH parents. A post's
organisation-only marker is believed only when its host is a peer (`org_only_from`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation.errors import FederationError, ParseError
from federation.html import plain_text, sanitize_html
from federation.objects import Attachment, Mention, Note, parse_object
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.polls import keep_remote_poll
from outbox.addressing import visibility_of
from outbox.questions import note_is_question
from store import (
    accounts,
    conversations,
    follows,
    inbox_items,
    notifications,
    statuses,
    timelines,
)
from store import media as stored_media
from store import questions as stored_questions
from store.db import Connection
from store.in_thread import in_thread
from store.media import NewMedia
from store.records import AccountRecord, StatusRecord
from store.statuses import NewStatus

log = logging.getLogger(__name__)

MAX_REPLY_DEPTH = 8
POST_TYPES = ("Note", "Question", "Article", "Page")
MAX_ATTACHMENTS = 16  # as many as Mastodon takes from a remote post
MAX_URL = 2048
MAX_DESCRIPTION = 1500
MAX_DIMENSION = 100_000
MEDIA_OBJECT_TYPES = ("Document", "Image", "Video", "Audio")  # a Link is no media
_BLURHASH = re.compile(r"^[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,128}$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][\w.+-]{0,63}/[\w.+-]{1,63}$", re.IGNORECASE)


class NotAllowed(FederationError):
    """The activity asks for something its actor may not do; dropped with a log line."""


async def note_from(
    ctx: InboxContext,
    document: dict[str, Any] | None,
    object_id: str | None,
    *,
    sender: str | None = None,
) -> Note:
    """The object of an activity: the embedded copy when the sender speaks for the object's
    own host, else the object fetched from its origin (a copy from elsewhere may be forged).
    """
    embedded_id = document.get("id") if document is not None else None
    if isinstance(embedded_id, str) and object_id in (None, embedded_id):
        object_id = embedded_id
    if object_id is None:
        raise ParseError("activity has no object id")
    trusted = (
        document is not None
        and embedded_id == object_id
        and sender is not None
        and domain_of(sender) == domain_of(object_id)
    )
    if not trusted:
        document = await ctx.fetcher.fetch_json(object_id)
    return parse_object(document)


def _media_kind(attachment: Attachment, media_type: str | None) -> str:
    """Mastodon's attachment type, from the media type or else the AS type."""
    family = (media_type or "").split("/")[0].lower()
    if family in ("image", "video", "audio"):
        return family
    return {"Image": "image", "Video": "video", "Audio": "audio"}.get(attachment.type, "unknown")


def _dimension(value: int | None) -> int | None:
    return value if value is not None and 0 < value <= MAX_DIMENSION else None


def media_from_as(
    attachments: Sequence[Attachment], account_id: int, *, allows: Callable[[str], bool]
) -> list[NewMedia]:
    """A remote post's attachments as we keep them: by their URL (the files stay at their
    origin), alt text as plain text, unusable values dropped, at most MAX_ATTACHMENTS.
    Apps load them from their URL, so those on a domain the policy does not `allows` are
    dropped: in allowlist mode nothing is fetched from outside the organisation."""
    found: list[NewMedia] = []
    for attachment in attachments:
        if attachment.type not in MEDIA_OBJECT_TYPES or len(attachment.url) > MAX_URL:
            continue
        if not allows(domain_of(attachment.url)):
            log.info("attachment outside policy dropped url=%s", attachment.url)
            continue
        media_type = attachment.media_type
        media_type = media_type if media_type and _MEDIA_TYPE.match(media_type) else None
        blurhash = attachment.blurhash
        focus = attachment.focal_point
        found.append(
            NewMedia(
                account_id=account_id,
                type=_media_kind(attachment, media_type),
                content_type=media_type,
                remote_url=attachment.url,
                description=plain_text(attachment.name or "")[:MAX_DESCRIPTION],
                blurhash=blurhash if blurhash and _BLURHASH.match(blurhash) else None,
                width=_dimension(attachment.width),
                height=_dimension(attachment.height),
                focus_x=focus[0] if focus else None,
                focus_y=focus[1] if focus else None,
            )
        )
        if len(found) == MAX_ATTACHMENTS:
            break
    return found


async def _mentioned_accounts(ctx: InboxContext, tags: Iterable[object]) -> list[AccountRecord]:
    """Accounts we know among the mentions: local ones always, remote ones if stored."""
    found: dict[int, AccountRecord] = {}
    async with ctx.db.read() as conn:
        for tag in tags:
            if not isinstance(tag, Mention):
                continue
            username = ctx.uris.local_username(tag.href)
            if username is not None:
                account = await accounts.get_local(conn, username)
            else:
                account = await accounts.get_by_uri(conn, tag.href)
            if account is not None:
                found[account.id] = account
    return list(found.values())


def org_only_from(ctx: InboxContext, note: Note) -> bool:
    """Whether `note` is organisation-only: it says so and its host is a peer. From anyone
    else the marker is ignored and the post is what its addressing says (followers-only,
    as Mastodon would read it), so no server outside can place a post in our org view."""
    return note.org_only and ctx.fetcher.policy.is_peer(domain_of(note.id))


async def store_note(
    ctx: InboxContext, note: Note, *, item_id: int | None = None, depth: int = 0
) -> StatusRecord | None:
    """Store a remote post once (by its id) and put it on the home timelines it belongs to."""
    async with ctx.db.read() as conn:
        existing = await statuses.get_by_uri(conn, note.id)
    if existing is not None:
        return existing
    if note.type not in POST_TYPES:
        log.info("object ignored object=%s type=%s", note.id, note.type)
        return None
    if note.attributed_to is None or domain_of(note.attributed_to) != domain_of(note.id):
        raise NotAllowed(f"{note.id} is attributed to an actor on another host")
    author = await ctx.actors.get(note.attributed_to)
    if author is None:
        raise FederationError(f"author {note.attributed_to} unavailable")
    parent = await _parent(ctx, note.in_reply_to, depth)
    mentioned = await _mentioned_accounts(ctx, note.tags)
    visibility = visibility_of(
        note.to, note.cc, followers_url=author.followers_url, org_only=org_only_from(ctx, note)
    )
    hashtags = [tag.name for tag in note.hashtags]
    new = NewStatus(
        uri=note.id,
        url=note.url or note.id,
        account_id=author.id,
        local=False,
        visibility=visibility,
        content=sanitize_html(note.content),
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_uri=note.in_reply_to,
        in_reply_to_account_id=parent.account_id if parent else None,
        conversation_uri=note.conversation,
        object_type=note.type,
        name=plain_text(note.name) if note.name else None,
        spoiler_text=plain_text(note.summary or ""),
        sensitive=note.sensitive,
        language=note.language,
    )
    published = note.published or ctx.clock()
    media = media_from_as(note.attachments, author.id, allows=ctx.fetcher.policy.allows)
    async with ctx.db.transaction() as conn:
        # every statement of the write in one trip to the writer's thread (store.in_thread):
        # some 20 trips each way per post were most of the inbox worker's time
        stored = await in_thread(
            conn,
            _write_status,
            new,
            _Extras(
                ctx.db.new_id, media, mentioned, hashtags, parent, item_id, note_is_question(note)
            ),
            now=min(published, ctx.clock()),
            clock=ctx.clock,
        )
    if stored is None:
        async with ctx.db.read() as conn:
            return await statuses.get_by_uri(conn, note.id)
    status, readers = stored
    if note.poll is not None:
        await keep_remote_poll(ctx, status, note.poll)
    log.info("status stored status=%s visibility=%s readers=%d", note.id, visibility, len(readers))
    return status


@dataclass(frozen=True)
class _Extras:
    """What goes with a new remote status besides its row."""

    new_id: Callable[[], int]
    media: list[NewMedia]
    mentioned: list[AccountRecord]
    hashtags: list[str]
    parent: StatusRecord | None
    item_id: int | None  # the inbox item of a Create; None for a post fetched later
    question: bool = False  # a question (outbox.questions): its answers may be accepted


async def _write_status(
    conn: Connection,
    new: NewStatus,
    extras: _Extras,
    *,
    now: datetime,
    clock: Callable[[], datetime],
) -> tuple[StatusRecord, set[int]] | None:
    """Insert the status with its media, mentions, tags and notifications and put it on its
    readers' timelines; None if it was stored meanwhile. Awaits nothing but `conn`."""
    if await statuses.get_by_uri(conn, new.uri) is not None:
        return None
    status = await statuses.insert(conn, extras.new_id(), new, now)
    await stored_media.replace_remote(conn, extras.new_id, status.id, extras.media, clock())
    mentioned = extras.mentioned
    await statuses.set_mentions(conn, status.id, [a.id for a in mentioned])
    await notifications.notify_mentioned(conn, extras.new_id, status, now=clock())
    if extras.item_id is not None:  # a post as it is published (a Create)
        await notifications.notify_subscribers(conn, extras.new_id, status, now=clock())
    await statuses.set_tags(conn, status.id, extras.hashtags)
    if extras.question:
        await stored_questions.mark(conn, status.id, now=now)
    if extras.parent is not None:
        await statuses.adjust_count(conn, extras.parent.id, "replies_count", 1)
    readers = {a.id for a in mentioned if a.is_local}
    if new.visibility != "direct":
        readers.update(await follows.local_follower_ids(conn, new.account_id))
    await timelines.add(conn, readers, status.id)
    await conversations.add_status(conn, extras.new_id, status, readers, now=clock())
    if extras.item_id is not None:
        await inbox_items.add_recipients(conn, extras.item_id, readers)
    return status, readers


async def _parent(ctx: InboxContext, in_reply_to: str | None, depth: int) -> StatusRecord | None:
    if in_reply_to is None:
        return None
    async with ctx.db.read() as conn:
        parent = await statuses.get_by_uri(conn, in_reply_to)
    if parent is not None or depth >= MAX_REPLY_DEPTH or ctx.uris.local_status(in_reply_to):
        return parent
    try:
        note = await note_from(ctx, None, in_reply_to)
        return await store_note(ctx, note, depth=depth + 1)
    except FederationError as error:
        log.info("reply parent unavailable parent=%s error=%s", in_reply_to, error)
        return None
