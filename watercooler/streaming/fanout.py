"""Which connected reader gets which event: the `TailSource` the streaming hub runs.

Each step reads what is new in the store since the last one (statuses, notifications, edits,
deletions) and, for every reader with a subscription it belongs to, renders the entity once
for that reader and queues it on each such subscription. Whether a status belongs to a stream
is asked of the queries the REST timelines page with (home, list, public, hashtag), so a
stream shows what a refresh of the timeline would show; visibility is checked again with
`can_see`, and the reader's filters apply as in the timelines.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from store import (
    accounts,
    api_timelines,
    follows,
    lists,
    moderation,
    notifications,
    statuses,
    stream_tail,
    tokens,
)
from store.api_timelines import Page
from store.db import Connection, db_time, parse_db_time
from store.ids import SEQUENCE_BITS
from store.records import AccountRecord, StatusRecord
from watercooler.api.conversations import conversation_entity_for_status
from watercooler.api.entities import EntityRenderer
from watercooler.api.notifications import notification_entity
from watercooler.filters import FilterView
from watercooler.filters import load as load_filters
from watercooler.services import Services
from watercooler.streaming.hub import Message, StreamClient, StreamingSettings
from watercooler.streaming.streams import StreamKey
from watercooler.visibility import can_see

log = logging.getLogger(__name__)


def _only(status_id: int) -> Page:
    """A timeline page that can hold this one status and nothing else."""
    return Page(max_id=status_id + 1, since_id=status_id - 1, limit=1)


def _json(document: Any) -> str:
    return orjson.dumps(document).decode()


class IdWindow:
    """New ids of one table: those above `floor` (which trails the newest id seen by the
    look-back) that were not seen before; ids committed late still count as new."""

    def __init__(self, newest: int, lookback: float) -> None:
        self.newest = newest
        self.span = int(lookback * 1000) << SEQUENCE_BITS
        self.seen: set[int] = set()

    @property
    def floor(self) -> int:
        return max(0, self.newest - self.span)

    def fresh(self, ids: Iterable[int]) -> set[int]:
        ids = list(ids)
        new = {i for i in ids if i not in self.seen}
        self.newest = max([self.newest, *ids])
        floor = self.floor
        self.seen = {i for i in self.seen | new if i > floor}
        return new


class TimeWindow:
    """Deleted statuses not seen before, by `deleted_at` (re-read over the look-back)."""

    def __init__(self, newest: str | None, lookback: float) -> None:
        self.newest = newest
        self.lookback = timedelta(seconds=lookback)
        self.seen: dict[int, str] = {}

    @property
    def since(self) -> str | None:
        moment = parse_db_time(self.newest)
        return db_time(moment - self.lookback) if moment is not None else None

    def fresh(self, rows: Sequence[tuple[int, str]]) -> list[int]:
        new = [status_id for status_id, _ in rows if status_id not in self.seen]
        self.seen.update(rows)
        if rows:
            self.newest = max([self.newest or "", *(at for _, at in rows)])
        since = self.since or ""
        self.seen = {status_id: at for status_id, at in self.seen.items() if at > since}
        return new


class StreamFanout:
    def __init__(self, svc: Services, settings: StreamingSettings) -> None:
        self.svc = svc
        self.settings = settings
        self._statuses = IdWindow(0, settings.lookback)
        self._notifications = IdWindow(0, settings.lookback)
        self._edits = IdWindow(0, settings.lookback)
        self._deletions = TimeWindow(None, settings.lookback)
        self._tokens_checked = time.monotonic()

    async def prime(self) -> None:
        """Start from now: what is already in the store is not streamed."""
        lookback = self.settings.lookback
        async with self.svc.db.read() as conn:
            newest = await stream_tail.newest(conn)
            self._statuses = IdWindow(newest.status_id, lookback)
            self._notifications = IdWindow(newest.notification_id, lookback)
            self._edits = IdWindow(newest.edit_id, lookback)
            self._deletions = TimeWindow(newest.deleted_at, lookback)
            await self._read(conn)
        self._tokens_checked = time.monotonic()

    async def _read(
        self, conn: Connection
    ) -> tuple[list[int], list[tuple[int, int]], list[int], list[int]]:
        """What is new: status ids, (notification id, recipient), edited status ids, deleted
        status ids; each oldest first."""
        status_rows = await stream_tail.status_ids_after(conn, self._statuses.floor)
        new_statuses = self._statuses.fresh(status_rows)
        note_rows = await stream_tail.notifications_after(conn, self._notifications.floor)
        new_notes = self._notifications.fresh(note_id for note_id, _ in note_rows)
        edit_rows = await stream_tail.edits_after(conn, self._edits.floor)
        new_edits = self._edits.fresh(edit_id for edit_id, _ in edit_rows)
        deleted = self._deletions.fresh(
            await stream_tail.deletions_after(conn, self._deletions.since)
        )
        return (
            [status_id for status_id in status_rows if status_id in new_statuses],
            [row for row in note_rows if row[0] in new_notes],
            list(
                dict.fromkeys(status_id for edit_id, status_id in edit_rows if edit_id in new_edits)
            ),
            deleted,
        )

    async def step(self, clients: Sequence[StreamClient]) -> None:
        readers: dict[int, list[StreamClient]] = defaultdict(list)
        for client in clients:
            if not client.closed:
                readers[client.account_id].append(client)
        now = self.svc.clock()
        async with self.svc.db.read() as conn:
            await self._recheck_tokens(conn, clients, now)
            new_statuses, new_notes, edited, deleted = await self._read(conn)
            if not readers:
                return
            step = _Step(self.svc, conn, readers, now)
            for status_id in new_statuses:
                await step.status(status_id, "update")
            for note_id, recipient in new_notes:
                await step.notification(note_id, recipient)
            posted = set(new_statuses)
            for status_id in edited:
                if status_id not in posted:  # posted and edited since the last step: `update`
                    await step.status(status_id, "status.update")
            for status_id in deleted:
                await step.deletion(status_id)

    async def _recheck_tokens(
        self, conn: Connection, clients: Sequence[StreamClient], now: datetime
    ) -> None:
        """Close the connections of tokens revoked (or expired) since they connected, as
        Mastodon's streaming server does on its `kill` event."""
        if time.monotonic() - self._tokens_checked < self.settings.token_recheck:
            return
        self._tokens_checked = time.monotonic()
        for token_hash in {client.token_hash for client in clients}:
            if await tokens.find_active(conn, token_hash, now) is None:
                for client in clients:
                    if client.token_hash == token_hash:
                        log.info("streaming closed, token revoked account=%s", client.account_id)
                        client.close("token revoked")


class _Step:
    """One pass over new items, with what is rendered and looked up cached for the pass:
    an entity is rendered once per reader (and filter context), however many of the
    reader's subscriptions get it."""

    def __init__(
        self,
        svc: Services,
        conn: Connection,
        readers: dict[int, list[StreamClient]],
        now: datetime,
    ) -> None:
        self.svc = svc
        self.conn = conn
        self.readers = readers
        self.now = now
        self._filters: dict[tuple[int, str], FilterView] = {}
        self._rendered: dict[tuple[int, int, str], str | None] = {}
        self._has_media: dict[int, bool] = {}
        self._viewers: dict[int, AccountRecord | None] = {}
        self._renderer = EntityRenderer(
            conn, uris=svc.uris, local_domain=svc.config.instance.domain
        )  # what every reader sees of a status is loaded once per pass

    def _subscribed(self, viewer: int) -> list[tuple[StreamClient, StreamKey]]:
        return [
            (client, key)
            for client in self.readers[viewer]
            for key in list(client.subscriptions)
            if not client.closed
        ]

    def _readers_of(self, wanted: Iterable[str], public: bool = False) -> list[int]:
        names = set(wanted)
        return [
            viewer
            for viewer, clients in self.readers.items()
            if any(
                key.name in names or (public and key.public)
                for c in clients
                for key in c.subscriptions
            )
        ]

    # ----- statuses: update, status.update ---------------------------------------------------

    async def status(self, status_id: int, event: str) -> None:
        status = await statuses.get_by_id(self.conn, status_id)
        if status is None or status.deleted_at is not None:
            return
        public = _PublicFacts(self, status)
        for viewer in self.readers:
            wanted = [
                (client, key)
                for client, key in self._subscribed(viewer)
                if await self._belongs(key, viewer, status, event, public)
            ]
            if not wanted or not await can_see(self.conn, status, viewer):
                continue
            for client, key in wanted:
                message = await self._status_message(key, viewer, status, event)
                if message is not None:
                    client.offer(message)

    async def _belongs(
        self, key: StreamKey, viewer: int, status: StatusRecord, event: str, public: _PublicFacts
    ) -> bool:
        if key.name == "user":
            home = await api_timelines.home(
                self.conn, viewer, _only(status.id), now=db_time(self.now)
            )
            return bool(home)
        if key.name == "list":
            assert key.list_id is not None
            owned = await lists.get(self.conn, viewer, key.list_id)
            if owned is None:
                return False
            return bool(await lists.timeline(self.conn, owned, _only(status.id), now=self.now))
        if key.public:
            return await public.admits(key, viewer)
        if key.name == "direct":
            return (
                event == "update"
                and status.visibility == "direct"
                and (viewer == status.account_id or viewer in await public.mentioned())
            )
        return False

    async def _status_message(
        self, key: StreamKey, viewer: int, status: StatusRecord, event: str
    ) -> Message | None:
        if key.name == "direct":
            account = await self._viewer(viewer)
            if account is None:
                return None
            conversation = await conversation_entity_for_status(self.svc, account, status)
            if conversation is None:
                return None
            return Message("conversation", _json(conversation), key.label)
        payload = await self._render(viewer, status, "public" if key.public else "home")
        if payload is None:
            return None
        if key.media_only and not self._has_media.get(status.id, False):
            return None
        return Message(event, payload, key.label)

    async def _render(self, viewer: int, status: StatusRecord, context: str) -> str | None:
        """The Status as `viewer` sees it in a filter context; None when a `hide` filter of
        the context takes it out."""
        cache_key = (viewer, status.id, context)
        if cache_key not in self._rendered:
            view = await self._view(viewer, context)
            payload = None
            if not await view.hidden(self.conn, status):
                (entity,) = await self._renderer.statuses(
                    [status], viewer_account_id=viewer, filters=view
                )
                proper = entity.get("reblog") or entity
                self._has_media[status.id] = bool(proper.get("media_attachments"))
                payload = _json(entity)
            self._rendered[cache_key] = payload
        return self._rendered[cache_key]

    async def _view(self, viewer: int, context: str) -> FilterView:
        if (viewer, context) not in self._filters:
            self._filters[viewer, context] = await load_filters(
                self.conn, viewer, now=self.now, context=context
            )
        return self._filters[viewer, context]

    async def _viewer(self, viewer: int) -> AccountRecord | None:
        if viewer not in self._viewers:
            self._viewers[viewer] = await accounts.get_by_id(self.conn, viewer)
        return self._viewers[viewer]

    # ----- notifications ---------------------------------------------------------------------

    async def notification(self, note_id: int, recipient: int) -> None:
        if recipient not in self.readers:
            return
        wanted = [
            (client, key)
            for client, key in self._subscribed(recipient)
            if key.name == "user:notification" or (key.name == "user" and client.notifications)
        ]
        if not wanted:
            return
        record = await notifications.get(self.conn, recipient, note_id, now=self.now)
        if record is None:
            return
        view = await self._view(recipient, "notifications")
        entity = await notification_entity(
            self.conn, self.svc, record, filters=view, renderer=self._renderer
        )
        if entity is None:
            return
        payload = _json(entity)
        for client, key in wanted:
            client.offer(Message("notification", payload, key.label))

    # ----- deletions -------------------------------------------------------------------------

    async def deletion(self, status_id: int) -> None:
        """`delete` to whoever may have been shown the status: the home timelines it was
        on (its author, their followers, the mentioned) and their lists, and, for a public or
        organisation post, the public and hashtag streams, as Mastodon's RemoveStatusService
        sends it."""
        status = await statuses.get_by_id(self.conn, status_id)
        if status is None:
            return
        audience = await stream_tail.delete_audience(
            self.conn,
            self._readers_of(("user", "list")),
            status_id=status.id,
            author_id=status.account_id,
        )
        public = status.visibility in ("public", "org") and status.reblog_of_id is None
        tags = set(await statuses.tag_names(self.conn, status.id)) if public else set()
        direct: set[int] = set()
        if status.visibility == "direct":
            direct = {
                status.account_id,
                *await statuses.mentioned_account_ids(self.conn, status.id),
            }
        payload = str(status.id)
        for viewer in self.readers:
            for client, key in self._subscribed(viewer):
                if await self._shown(key, viewer, status, audience, public, tags, direct):
                    client.offer(Message("delete", payload, key.label))

    async def _shown(
        self,
        key: StreamKey,
        viewer: int,
        status: StatusRecord,
        audience: set[int],
        public: bool,
        tags: set[str],
        direct: set[int],
    ) -> bool:
        if key.name == "user":
            return viewer in audience
        if key.name == "list":
            assert key.list_id is not None
            return viewer in audience and await lists.is_member(
                self.conn, key.list_id, status.account_id
            )
        if key.public:
            if not public or key.locality not in (None, status.local):
                return False
            return key.tag is None or key.tag in tags
        if key.name == "direct":
            return viewer in direct
        return False


class _PublicFacts:
    """What public and hashtag streams ask of one status, looked up at most once."""

    def __init__(self, step: _Step, status: StatusRecord) -> None:
        self.step = step
        self.status = status
        self._public: bool | None = None
        self._tags: dict[str, bool] = {}
        self._mentioned: list[int] | None = None
        self._hidden: set[int] | None = None
        self._limited: bool | None = None

    async def mentioned(self) -> list[int]:
        if self._mentioned is None:
            self._mentioned = await statuses.mentioned_account_ids(self.step.conn, self.status.id)
        return self._mentioned

    async def admits(self, key: StreamKey, viewer: int) -> bool:
        """On the public timeline (or the tag's), local or remote as the stream asks, and
        not hidden from this reader by a block or mute."""
        if key.locality not in (None, self.status.local):
            return False
        conn = self.step.conn
        if key.tag is None:
            if self._public is None:
                self._public = bool(
                    await api_timelines.public(conn, _only(self.status.id), local=None)
                )
            if not self._public:
                return False
        else:
            if key.tag not in self._tags:
                found = await api_timelines.tag(conn, key.tag, _only(self.status.id), local=None)
                self._tags[key.tag] = bool(found)
            if not self._tags[key.tag]:
                return False
        if self._limited is None:  # a limited author reaches only followers (store.moderation)
            self._limited = (await moderation.get(conn, self.status.account_id)).limited
        if self._limited and not await follows.is_following(conn, viewer, self.status.account_id):
            return False
        if self._hidden is None:
            self._hidden = await stream_tail.hidden_from(
                conn,
                self.step._readers_of((), public=True),
                author_id=self.status.account_id,
                mentioned_ids=await self.mentioned(),
                now=db_time(self.step.now),
            )
        return viewer not in self._hidden
