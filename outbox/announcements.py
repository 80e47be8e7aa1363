"""Publishing announcements: an admin or announcer's text becomes a stored announcement and
a `Create` (edit: `Update`, withdrawal: `Delete`) from our instance actor to every peer's
instance actor, with its audit row, all in one transaction.

Who may publish is the app shell's question (`watercooler.announcements`); here the author
is taken as allowed. The text is rendered as a post is (links, mentions, hashtags:
`outbox.render.render_html`); mentioned remote accounts are looked up before the
transaction. Delivery goes only to peers (scope `peers`), whatever the federation mode.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation.announcement import (
    TagRef,
    announcement_create,
    announcement_delete,
    announcement_to_json,
    announcement_update,
)
from outbox.publish import Publisher
from outbox.render import Handle, MentionTarget, extract_hashtags, extract_mentions, render_html
from outbox.to_as import acct
from store import accounts, audit, follows
from store import announcements as stored
from store.announcements import AnnouncementContent, AnnouncementRecord
from store.db import Connection
from store.records import AccountRecord

log = logging.getLogger(__name__)

MAX_TEXT = 5000
"""Characters of an announcement's text (a post's limit)."""
MAX_PEERS = 10_000


class AnnouncementError(ValueError):
    """The announcement cannot be published or changed as asked; the message says why."""


class UnknownAnnouncement(AnnouncementError):
    """No announcement of this division with that id (a peer's cannot be changed here)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """What an admin or announcer writes: the text and when it shows."""

    text: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False

    def checked(self) -> Draft:
        if not self.text.strip():
            raise AnnouncementError("An announcement needs text")
        if len(self.text) > MAX_TEXT:
            raise AnnouncementError(f"An announcement has at most {MAX_TEXT} characters")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise AnnouncementError("An announcement must end after it starts")
        return self


@dataclass(frozen=True, slots=True)
class Editor:
    """Who acts, as the audit log records it: the account and the door ('web', 'api')."""

    account: AccountRecord
    origin: str


class Announcements:
    """Publish, edit and withdraw this division's announcements."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.db = publisher.db
        self.uris = publisher.uris
        self.clock = publisher.clock

    def uri(self, announcement_id: int) -> str:
        return f"{self.uris.base_url}/announcements/{announcement_id}"

    async def publish(self, author: Editor, draft: Draft) -> AnnouncementRecord:
        """Store and send a new announcement attributed to `author.account`."""
        draft = draft.checked()
        content = await self._render(draft, author.account)
        now = self.clock()
        new_id = self.db.new_id()
        uri = self.uri(new_id)
        async with self.db.transaction() as conn:
            record = await stored.insert(
                conn,
                new_id,
                uri=uri,
                account_id=author.account.id,
                local=True,
                content=content,
                published_at=now,
                updated_at=now,
            )
            assert record is not None  # a fresh id and uri
            document = await self._document(conn, record)
            create = announcement_create(
                self.uris.instance_actor, document, id=f"{uri}/activity", published=now
            )
            await self._send(conn, create, uri)
            await self._audit(conn, author, "announcement.publish", record, draft)
        self.publisher.notify()
        log.info("announcement published id=%d by=%s", record.id, author.account.username)
        return record

    async def edit(self, editor: Editor, announcement_id: int, draft: Draft) -> AnnouncementRecord:
        """Change a live announcement of this division; peers get an `Update`."""
        draft = draft.checked()
        record = await self._live(announcement_id)
        async with self.db.read() as conn:
            author = await accounts.get_by_id(conn, record.account_id)
        assert author is not None
        content = await self._render(draft, author)
        now = self.clock()
        async with self.db.transaction() as conn:
            await stored.update(conn, record.id, content, updated_at=now)
            changed = await stored.get_by_id(conn, record.id)
            assert changed is not None
            document = await self._document(conn, changed)
            update = announcement_update(
                self.uris.instance_actor,
                document,
                id=f"{record.uri}#updates/{self.db.new_id()}",
                published=now,
            )
            await self._send(conn, update, record.uri)
            await self._audit(conn, editor, "announcement.edit", changed, draft)
        self.publisher.notify()
        return changed

    async def withdraw(self, editor: Editor, announcement_id: int) -> AnnouncementRecord:
        """Take an announcement back everywhere: peers get a `Delete` of it."""
        record = await self._live(announcement_id)
        now = self.clock()
        async with self.db.transaction() as conn:
            if not await stored.withdraw(conn, record.id, now):  # withdrawn meanwhile
                raise UnknownAnnouncement("There is no such announcement on this division")
            delete = announcement_delete(
                self.uris.instance_actor,
                record.uri,
                to=await self._peer_actors(conn),
                id=f"{record.uri}#delete",
                published=now,
            )
            await self._send(conn, delete, record.uri)
            await self._audit(conn, editor, "announcement.withdraw", record, None)
            withdrawn = await stored.get_by_id(conn, record.id)
        assert withdrawn is not None
        self.publisher.notify()
        return withdrawn

    # ----- helpers ---------------------------------------------------------------------

    async def _live(self, announcement_id: int) -> AnnouncementRecord:
        async with self.db.read() as conn:
            record = await stored.get_by_id(conn, announcement_id)
        if record is None or not record.local or record.withdrawn_at is not None:
            raise UnknownAnnouncement("There is no such announcement on this division")
        return record

    async def _render(self, draft: Draft, author: AccountRecord) -> AnnouncementContent:
        """The HTML as a post of `author` would have it, with its mentions and hashtags."""
        targets: dict[Handle, MentionTarget] = {}
        mentioned: list[AccountRecord] = []
        for handle in extract_mentions(draft.text):
            account = await self._resolve(handle)
            if account is None or any(a.id == account.id for a in mentioned):
                continue
            mentioned.append(account)
            name = account.username if account.is_local else acct(account, self.publisher.domain)
            targets[handle] = MentionTarget(account.uri, account.url or account.uri, name)
        hashtags = extract_hashtags(draft.text)
        html = render_html(
            draft.text, mentions=targets, tag_url=self.uris.tag, author_acct=author.username
        )
        return AnnouncementContent(
            text=draft.text,
            content=html,
            mention_ids=[a.id for a in mentioned],
            tags=hashtags,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            all_day=draft.all_day,
        )

    async def _resolve(self, handle: Handle) -> AccountRecord | None:
        domain = self.publisher.domain
        if handle.domain is None or handle.domain in (domain, domain.split(":")[0]):
            async with self.db.read() as conn:
                return await accounts.get_local(conn, handle.username)
        return await self.publisher.actors.resolve_handle(handle.username, handle.domain)

    async def _peer_actors(self, conn: Connection) -> list[str]:
        """The peers' instance actors following ours: the addressees of what we send."""
        instance = await accounts.get_instance_actor(conn)
        if instance is None:
            return []
        return await follows.page_of_uris(
            conn, instance.id, followers=True, offset=0, limit=MAX_PEERS
        )

    async def document(self, record: AnnouncementRecord) -> dict[str, Any]:
        """The object of one of our announcements, as sent (served at its id to peers)."""
        async with self.db.read() as conn:
            return await self._document(conn, record)

    async def _document(self, conn: Connection, record: AnnouncementRecord) -> dict[str, Any]:
        author = await accounts.get_by_id(conn, record.account_id)
        assert author is not None
        mentioned = [await accounts.get_by_id(conn, i) for i in record.mention_ids]
        tags = [
            TagRef("Mention", a.uri, f"@{acct(a, self.publisher.domain)}")
            for a in mentioned
            if a is not None
        ] + [TagRef("Hashtag", self.uris.tag(name), name) for name in record.tags]
        return announcement_to_json(
            id=record.uri,
            attributed_to=author.uri,
            content=record.content,
            source=record.text,
            start_time=record.starts_at,
            end_time=record.ends_at,
            all_day=record.all_day,
            published=record.published_at,
            updated=record.updated_at,
            to=await self._peer_actors(conn),
            tags=tags,
        )

    async def _send(self, conn: Connection, document: dict[str, Any], object_uri: str) -> None:
        """Record the activity as the instance actor's and queue it for every peer's
        instance actor that follows ours (and only peers: the publisher's `peers` reach)."""
        instance = await accounts.get_instance_actor(conn)
        if instance is None:
            raise AnnouncementError("the instance actor is missing")
        inboxes = await follows.remote_follower_inboxes(conn, instance.id)
        await self.publisher._enqueue(
            conn, instance, document, inboxes, object_uri=object_uri, scope="peers"
        )

    async def _audit(
        self,
        conn: Connection,
        editor: Editor,
        action: str,
        record: AnnouncementRecord,
        draft: Draft | None,
    ) -> None:
        details: dict[str, Any] = {"uri": record.uri}
        if draft is not None:
            details.update(
                text=draft.text,
                starts_at=draft.starts_at.isoformat() if draft.starts_at else None,
                ends_at=draft.ends_at.isoformat() if draft.ends_at else None,
                all_day=draft.all_day,
            )
        await audit.append(
            conn,
            now=self.clock(),
            actor_account_id=editor.account.id,
            actor_name=editor.account.username,
            action=action,
            target=str(record.id),
            details=details,
            origin=editor.origin,
        )
