"""The JSON entities of Mastodon's client API, shaped as Mastodon 4.3 sends them.

Apps crash on a missing key more often than on a missing endpoint, and some on a `null`
where Mastodon leaves the key out, so each builder emits exactly Mastodon's keys, in its
order: ids as strings, times as ISO 8601 in UTC with milliseconds (`...T10:00:00.000Z`).
Keys Mastodon sends only in some cases (`noindex` and `roles` for local accounts, the
viewer's `favourited`... on statuses) are left out in the others, as Mastodon does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from federation.uris import Uris
from outbox.actors import field_html, note_html
from outbox.publish import MAX_MEDIA_ATTACHMENTS
from store import api_queries, entity_batches, follows
from store import media as stored_media
from store import questions as stored_questions
from store.api_queries import AccountStats, Marker
from store.db import Connection
from store.entity_batches import ViewerMarks
from store.in_thread import in_thread
from store.memo import Memo
from store.questions import QuestionRecord
from store.records import AccountRecord, MediaRecord, StatusRecord, UserRecord
from watercooler import __version__
from watercooler.api.poll_entities import PollCache
from watercooler.config import Config
from watercooler.filters import FilterView
from watercooler.media import DESCRIPTION_LIMIT, IMAGE_MATRIX_LIMIT, IMAGE_SIZE_LIMIT, IMAGE_TYPES

MASTODON_VERSION = "4.3.0"
"""The Mastodon API level we answer like; clients (Mastodon.py, masto.js) gate features on it."""

DEFAULT_AVATAR_PATH = "/avatars/original/missing.png"
DEFAULT_HEADER_PATH = "/headers/original/missing.png"
THUMBNAIL_PATH = "/images/preview.png"
ICON_PATH = "/images/icon.png"
ICON_SIZE = 192

MAX_STATUS_CHARACTERS = 5000
CHARACTERS_RESERVED_PER_URL = 23
MAX_PROFILE_FIELDS = 4
_API_VISIBILITIES = ("public", "unlisted", "org", "private", "direct")
"""Shown as stored: `org` too (apps show unknown values as they can; docs/interop.md)."""

# Mastodon's built-in roles as the API shows them: everyone's (-99) and the admin's.
EVERYONE_ROLE = {"id": "-99", "name": "", "permissions": "65536", "color": "", "highlighted": False}
ADMIN_ROLE = {"id": "3", "name": "Admin", "permissions": "1", "color": "", "highlighted": True}


def iso(moment: datetime) -> str:
    """`2026-01-01T10:00:00.000Z`: UTC, always with milliseconds (Toot! insists)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def version_string() -> str:
    return f"{MASTODON_VERSION} (compatible; Watercooler {__version__})"


def streaming_url(base_url: str) -> str:
    """The WebSocket base URL of the streaming API (`wss://` for an https instance)."""
    if base_url.startswith("https://"):
        return "wss://" + base_url.removeprefix("https://")
    return "ws://" + base_url.removeprefix("http://")


def acct(account: AccountRecord) -> str:
    """`name` for a local account, `name@domain` for a remote one."""
    return account.username if account.is_local else f"{account.username}@{account.domain}"


def _field_html(value: str, uris: Uris) -> str:
    """A local profile field's value as HTML: escaped, links made clickable, no paragraph."""
    return field_html(value, uris)


# ----- accounts ------------------------------------------------------------------------------


async def account_entity(
    conn: Connection, account: AccountRecord, *, uris: Uris, local_domain: str
) -> dict[str, Any]:
    """Mastodon's Account. Avatar and header: a local account's uploads, a remote account's
    images at their origin (not copied here), else the default images, served by us."""
    renderer = EntityRenderer(conn, uris=uris, local_domain=local_domain)
    (entity,) = await renderer.accounts([account])
    return entity


async def account_entities(
    conn: Connection, accounts: Sequence[AccountRecord], *, uris: Uris, local_domain: str
) -> list[dict[str, Any]]:
    """`account_entity` of each account (a page of followers, a list's members), from two
    statements however many accounts there are."""
    renderer = EntityRenderer(conn, uris=uris, local_domain=local_domain)
    return await renderer.accounts(accounts)


def _account(
    account: AccountRecord, stats: AccountStats, fields: list[tuple[str, str]], uris: Uris
) -> dict[str, Any]:
    avatar, header = profile_images(account, uris)
    midnight = account.created_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    entity: dict[str, Any] = {
        "id": str(account.id),
        "username": account.username,
        "acct": acct(account),
        "display_name": account.display_name,
        "locked": account.manually_approves_followers,
        "bot": account.actor_type in ("Service", "Application"),
        "discoverable": account.discoverable,
        "indexable": account.discoverable if account.is_local else False,
        "group": account.actor_type == "Group",
        "created_at": iso(midnight),
        "note": note_html(account.note) if account.is_local else account.note,
        "url": account.url or account.uri,
        "uri": account.uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": stats.followers_count,
        "following_count": stats.following_count,
        "statuses_count": stats.statuses_count,
        "last_status_at": (
            stats.last_status_at.astimezone(UTC).date().isoformat()
            if stats.last_status_at
            else None
        ),
        "hide_collections": False,
    }
    if account.is_local:
        entity["noindex"] = not account.discoverable
    if stats.limited:  # Mastodon's: limited by this server's moderators
        entity["limited"] = True
    entity["emojis"] = []
    if account.is_local:
        entity["roles"] = (
            [{key: ADMIN_ROLE[key] for key in ("id", "name", "color")}] if stats.admin else []
        )
    entity["fields"] = [
        {  # a remote value is HTML sanitised on arrival
            "name": name,
            "value": _field_html(value, uris) if account.is_local else value,
            "verified_at": None,
        }
        for name, value in fields
    ]
    return entity


def suspended_account(entity: dict[str, Any], uris: Uris) -> dict[str, Any]:
    """An Account entity as Mastodon's REST serializer shows an account this server's
    moderators suspended: `suspended: true`, and what its owner wrote or chose blanked (name,
    bio, images, fields, emojis, roles, flags, `moved`); counters and handle stay."""
    default_avatar = f"{uris.base_url}{DEFAULT_AVATAR_PATH}"
    default_header = f"{uris.base_url}{DEFAULT_HEADER_PATH}"
    blanked = {key: value for key, value in entity.items() if key != "moved"}
    blanked.update(
        display_name="",
        note="",
        locked=False,
        bot=False,
        discoverable=False,
        indexable=False,
        avatar=default_avatar,
        avatar_static=default_avatar,
        header=default_header,
        header_static=default_header,
        emojis=[],
        fields=[],
        suspended=True,
    )
    if "roles" in blanked:
        blanked["roles"] = []
    return blanked


def profile_images(account: AccountRecord, uris: Uris) -> tuple[str, str]:
    """(avatar URL, header URL) of an account; the default images where it has none."""
    if account.is_local:
        avatar = uris.media(account.avatar_file) if account.avatar_file else None
        header = uris.media(account.header_file) if account.header_file else None
    else:
        avatar, header = account.avatar_remote_url, account.header_remote_url
    return (
        avatar or f"{uris.base_url}{DEFAULT_AVATAR_PATH}",
        header or f"{uris.base_url}{DEFAULT_HEADER_PATH}",
    )


# ----- media ---------------------------------------------------------------------------------


def _dimensions(width: int, height: int) -> dict[str, Any]:
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


def media_entity(media: MediaRecord, uris: Uris) -> dict[str, Any]:
    """Mastodon's MediaAttachment. A remote attachment is not copied here: its `url` and
    `preview_url` are its origin's URL, which `remote_url` repeats (as GoToSocial shows
    media it has not cached)."""
    meta: dict[str, Any] = {}
    if media.width and media.height:
        meta["original"] = _dimensions(media.width, media.height)
    if media.is_local:
        assert media.file_name is not None
        url = uris.media(media.file_name)
        preview = uris.media(media.preview_name) if media.preview_name else url
        if media.preview_width and media.preview_height:
            meta["small"] = _dimensions(media.preview_width, media.preview_height)
    else:
        url = preview = media.remote_url or ""
        if "original" in meta:
            meta["small"] = meta["original"]  # the preview is the original
    if media.focus is not None:
        meta["focus"] = {"x": media.focus[0], "y": media.focus[1]}
    return {
        "id": str(media.id),
        "type": media.type,
        "url": url,
        "preview_url": preview,
        "remote_url": media.remote_url,
        "preview_remote_url": None,
        "text_url": url if media.is_local else None,
        "meta": meta,
        "description": media.description or None,
        "blurhash": media.blurhash,
    }


async def credential_account_entity(
    conn: Connection,
    account: AccountRecord,
    user: UserRecord,
    *,
    uris: Uris,
    local_domain: str,
    privacy: str = "public",
) -> dict[str, Any]:
    """The signed-in user's own Account, with `source` (what they typed; `privacy` is the
    visibility their posts get when the app names none) and `role`."""
    entity = await account_entity(conn, account, uris=uris, local_domain=local_domain)
    fields = await api_queries.profile_fields(conn, account.id)
    entity["source"] = {
        "privacy": privacy,
        "sensitive": False,
        "language": None,
        "note": account.note,
        "fields": [{"name": name, "value": value, "verified_at": None} for name, value in fields],
        "follow_requests_count": await api_queries.pending_request_count(conn, account.id),
        "hide_collections": False,
        "discoverable": account.discoverable,
        "indexable": account.discoverable,
    }
    entity["role"] = dict(ADMIN_ROLE if user.admin else EVERYONE_ROLE)
    return entity


async def relationship_entity(
    conn: Connection, account_id: int, target_id: int, *, now: datetime
) -> dict[str, Any]:
    """How `account_id` stands to `target_id`. A follow that waits for the other side (a
    locked account, or any remote one until its Accept arrives) is `requested`."""
    relation = await api_queries.relation(conn, account_id, target_id, now)
    following = relation.following == "accepted"
    requested = relation.following == "pending"
    notify, show_reblogs = await follows.options(conn, account_id, target_id)
    return {
        "id": str(target_id),
        "following": following,
        "showing_reblogs": (following or requested) and show_reblogs,
        "notifying": (following or requested) and notify,
        "languages": None,
        "followed_by": relation.followed_by == "accepted",
        "blocking": relation.blocking,
        "blocked_by": relation.blocked_by,
        "muting": relation.muting,
        "muting_notifications": relation.muting_notifications,
        "requested": requested,
        "requested_by": relation.followed_by == "pending",
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


# ----- statuses ------------------------------------------------------------------------------


async def status_entity(
    conn: Connection,
    status: StatusRecord,
    *,
    viewer_account_id: int | None,
    uris: Uris,
    local_domain: str,
    filters: FilterView | None = None,
) -> dict[str, Any]:
    """Mastodon's Status. A boost carries its original in `reblog`; the viewer's state
    (`favourited`, `reblogged`, `muted`, `bookmarked`, `filtered`, and `pinned` on their own
    posts) is there only when there is a viewer. `filters`, the viewer's filters loaded once
    per request, fill `filtered` (without them it is empty). Callers check visibility first."""
    (entity,) = await status_entities(
        conn,
        [status],
        viewer_account_id=viewer_account_id,
        uris=uris,
        local_domain=local_domain,
        filters=filters,
    )
    return entity


async def status_entities(
    conn: Connection,
    statuses: Sequence[StatusRecord],
    *,
    viewer_account_id: int | None,
    uris: Uris,
    local_domain: str,
    filters: FilterView | None = None,
) -> list[dict[str, Any]]:
    """`status_entity` of each status, for one viewer (a page of a timeline, a thread, search
    results), from a handful of statements however many statuses there are."""
    renderer = EntityRenderer(conn, uris=uris, local_domain=local_domain)
    return await renderer.statuses(statuses, viewer_account_id=viewer_account_id, filters=filters)


_ACCOUNT_ENTITIES: Memo[int, dict[str, Any]] = Memo(size=2048)
"""Account entities by account id, with what they were made from (the record, counters,
fields, base URL): shared by every status of the author and every reader, never changed."""

_STATUS_PARTS: Memo[int, tuple[dict[str, Any], dict[str, Any]]] = Memo(size=2048)
"""What every reader sees alike of a status, as two parts of its entity: the keys before the
reader's marks (`id`... `edited_at`) and those after `reblog` (`application`... `poll`),
by status id, with everything they were made from."""


def shared_account(
    account: AccountRecord, stats: AccountStats, fields: list[tuple[str, str]], uris: Uris
) -> dict[str, Any]:
    """`_account`, made once while the account, its counters and fields are unchanged. Shared:
    callers that add keys (a credential account, a mute) copy it first."""
    inputs = (account, stats, fields, uris.base_url)
    found = _ACCOUNT_ENTITIES.get(account.id, inputs)
    if found is None:
        found = _ACCOUNT_ENTITIES.put(account.id, inputs, _account(account, stats, fields, uris))
    return found


class EntityRenderer:
    """Builds Status and Account entities of many records from a few batch statements (`IN`
    lists: store.entity_batches) run in one trip to the connection's thread
    (store.in_thread), instead of a dozen statements per status. What every reader sees
    alike (authors and their counters and profile fields, originals of boosts, media,
    mentions, hashtags, apps) is loaded once and kept, so one renderer serves many readers
    (a streaming pass renders a post for each); a reader's own marks are loaded per call.
    Keep one for a request or a pass: what it keeps goes stale.

    Loading (`fetch`, on a connection) and rendering (`render`, no I/O) are apart, so that
    a request can load its statuses and all they render from in one trip (api.timelines).
    Rendered parts that do not depend on the reader are kept process-wide (`_STATUS_PARTS`,
    `_ACCOUNT_ENTITIES`) by what they were made from, so they are never stale."""

    def __init__(self, conn: Connection, *, uris: Uris, local_domain: str) -> None:
        self.conn = conn
        self.uris = uris
        self.local_domain = local_domain
        self._originals: dict[int, StatusRecord | None] = {}
        self._accounts: dict[int, AccountRecord | None] = {}
        self._stats: dict[int, AccountStats] = {}
        self._fields: dict[int, list[tuple[str, str]]] = {}
        self._media: dict[int, tuple[MediaRecord, ...]] = {}
        self._mentions: dict[int, list[int]] = {}
        self._tags: dict[int, tuple[str, ...]] = {}
        self._applications: dict[int, tuple[str, str | None] | None] = {}
        self._questions: dict[int, QuestionRecord] = {}
        self._polls = PollCache()

    async def accounts(self, accounts: Sequence[AccountRecord]) -> list[dict[str, Any]]:
        await in_thread(self.conn, self._load_account_facts, [account.id for account in accounts])
        await in_thread(self.conn, self._load_moved, accounts)
        return [dict(self._account_entity(account)) for account in accounts]

    async def statuses(
        self,
        statuses: Sequence[StatusRecord],
        *,
        viewer_account_id: int | None,
        filters: FilterView | None = None,
    ) -> list[dict[str, Any]]:
        marks = await in_thread(self.conn, self.fetch, statuses, viewer_account_id)
        return self.render(statuses, viewer_account_id, marks, filters)

    async def fetch(
        self, conn: Connection, statuses: Sequence[StatusRecord], viewer_account_id: int | None
    ) -> ViewerMarks | None:
        """Loads on `conn` what `statuses` are rendered from and is not loaded yet, and the
        viewer's marks on them (None without a viewer). Awaits only `conn`: run it in the
        connection's thread (store.in_thread)."""
        shown = await self._with_originals(conn, statuses)
        status_ids = [i for i in shown if i not in self._media]
        if status_ids:
            media = await stored_media.for_statuses(conn, status_ids)
            mentions = await entity_batches.mentioned_account_ids(conn, status_ids)
            tags = await entity_batches.tag_names(conn, status_ids)
            for i in status_ids:
                self._media[i] = tuple(media.get(i, ()))
                self._mentions[i] = mentions.get(i, [])
                self._tags[i] = tuple(tags.get(i, ()))
            self._questions.update(await stored_questions.for_statuses(conn, status_ids))
        applications = {s.application_id for s in shown.values() if s.application_id is not None}
        if new := applications - self._applications.keys():
            names = await entity_batches.application_names(conn, new)
            self._applications.update((i, names.get(i)) for i in new)
        await self._load_authors(conn, [s.account_id for s in shown.values()])
        await self._load_accounts(conn, [i for s in shown for i in self._mentions[s]])
        await self._polls.fetch(conn, shown.values(), viewer_account_id)
        if viewer_account_id is None or not shown:
            return None
        return await entity_batches.viewer_marks(conn, viewer_account_id, shown)

    def render(
        self,
        statuses: Sequence[StatusRecord],
        viewer_account_id: int | None,
        marks: ViewerMarks | None,
        filters: FilterView | None = None,
    ) -> list[dict[str, Any]]:
        """The entities of `statuses`, once `fetch` has loaded them (with these marks)."""
        return [self._status(status, viewer_account_id, marks, filters) for status in statuses]

    async def _with_originals(
        self, conn: Connection, statuses: Sequence[StatusRecord]
    ) -> dict[int, StatusRecord]:
        """`statuses` and the originals of boosts among them that show (not deleted), by id."""
        shown: dict[int, StatusRecord] = {}
        level = list(statuses)
        while level:  # boosts, then their originals (a boost of a boost, should one exist)
            for status in level:
                shown.setdefault(status.id, status)
            wanted = [
                s.reblog_of_id
                for s in level
                if s.reblog_of_id is not None and s.reblog_of_id not in self._originals
            ]
            if wanted:
                found = await entity_batches.statuses_by_id(conn, wanted)
                self._originals.update((i, found.get(i)) for i in wanted)
            level = [
                original
                for s in level
                if s.reblog_of_id is not None
                and (original := self._originals[s.reblog_of_id]) is not None
                and original.deleted_at is None
                and original.id not in shown
            ]
        return shown

    async def _load_accounts(self, conn: Connection, account_ids: Iterable[int]) -> None:
        new = [i for i in dict.fromkeys(account_ids) if i not in self._accounts]
        if new:
            found = await entity_batches.accounts_by_id(conn, new)
            self._accounts.update((i, found.get(i)) for i in new)

    async def _load_authors(self, conn: Connection, account_ids: Sequence[int]) -> None:
        """Authors: their records, counters (one statement) and profile fields."""
        new = [
            i for i in dict.fromkeys(account_ids) if i not in self._stats or i not in self._accounts
        ]
        if new:
            found = await entity_batches.authors(conn, new)
            for i in new:
                record, stats = found.get(i, (None, entity_batches.NO_STATS))
                self._accounts[i] = record
                self._stats[i] = stats
            fields = await entity_batches.profile_fields(conn, new)
            self._fields.update((i, fields.get(i, [])) for i in new)
            await self._load_moved(conn, [found[i][0] for i in new if i in found])

    async def _load_account_facts(self, conn: Connection, account_ids: Sequence[int]) -> None:
        new = [i for i in dict.fromkeys(account_ids) if i not in self._stats]
        if new:
            self._stats.update(await entity_batches.account_stats(conn, new))
            fields = await entity_batches.profile_fields(conn, new)
            self._fields.update((i, fields.get(i, [])) for i in new)

    async def _load_moved(self, conn: Connection, accounts: Iterable[AccountRecord]) -> None:
        """The accounts that moved ones point to (Mastodon's `moved`, store.moves)."""
        targets = [a.moved_to_account_id for a in accounts if a.moved_to_account_id is not None]
        if targets:
            await self._load_accounts(conn, targets)
            await self._load_account_facts(conn, targets)

    def _account_entity(self, account: AccountRecord) -> dict[str, Any]:
        entity = shared_account(
            account, self._stats[account.id], self._fields.get(account.id, []), self.uris
        )
        moved = self._accounts.get(account.moved_to_account_id or 0)
        if moved is None or moved.id not in self._stats:
            return entity
        # Mastodon's `moved`: the new account, itself without `moved` (not nested)
        shown = shared_account(
            moved, self._stats[moved.id], self._fields.get(moved.id, []), self.uris
        )
        return {**entity, "moved": shown}

    def _parts(self, status: StatusRecord) -> tuple[dict[str, Any], dict[str, Any]]:
        """The reader-independent parts of the status's entity (see `_STATUS_PARTS`)."""
        author = self._accounts[status.account_id]
        assert author is not None, status.account_id
        application = (
            self._applications[status.application_id] if status.application_id is not None else None
        )
        mentioned = tuple(self._accounts[i] for i in self._mentions[status.id])
        inputs = (
            status,
            self._account_entity(author),
            application,
            self._media[status.id],
            mentioned,
            self._tags[status.id],
            self.uris.base_url,
        )
        found = _STATUS_PARTS.get(status.id, inputs)
        if found is None:
            found = _STATUS_PARTS.put(status.id, inputs, self._make_parts(*inputs[:-1]))
        return found

    def _make_parts(
        self,
        status: StatusRecord,
        account: dict[str, Any],
        application: tuple[str, str | None] | None,
        media: tuple[MediaRecord, ...],
        mentioned: tuple[AccountRecord | None, ...],
        tags: tuple[str, ...],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        head: dict[str, Any] = {
            "id": str(status.id),
            "created_at": iso(status.created_at),
            "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
            "in_reply_to_account_id": (
                str(status.in_reply_to_account_id) if status.in_reply_to_account_id else None
            ),
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility
            if status.visibility in _API_VISIBILITIES
            else "private",
            "language": status.language,
            "uri": status.uri,
            "url": status.url or status.uri,
            "replies_count": status.replies_count,
            "reblogs_count": status.reblogs_count,
            "favourites_count": status.favourites_count,
            "edited_at": iso(status.edited_at) if status.edited_at else None,
            "local_only": status.local_only,  # GoToSocial's key: the post stays on this instance
        }
        tail: dict[str, Any] = {}
        if application is not None:
            # Mastodon names the app a post was made with (users disclose it by default);
            # posts made without one (CLI tokens, C2S) and remote posts carry no key.
            tail["application"] = {"name": application[0], "website": application[1]}
        tail["account"] = account
        tail["media_attachments"] = [media_entity(attachment, self.uris) for attachment in media]
        tail["mentions"] = [
            {
                "id": str(mentioned_account.id),
                "username": mentioned_account.username,
                "url": mentioned_account.url or mentioned_account.uri,
                "acct": acct(mentioned_account),
            }
            for mentioned_account in mentioned
            if mentioned_account is not None
        ]
        tail["tags"] = [{"name": name, "url": self.uris.tag(name)} for name in tags]
        tail["emojis"] = []
        tail["card"] = None
        tail["poll"] = None
        return head, tail

    def _status(
        self,
        status: StatusRecord,
        viewer_account_id: int | None,
        marks: ViewerMarks | None,
        filters: FilterView | None,
    ) -> dict[str, Any]:
        reblog: dict[str, Any] | None = None
        original: StatusRecord | None = None
        if status.reblog_of_id is not None:
            original = self._originals[status.reblog_of_id]
            if original is not None and original.deleted_at is None:
                reblog = self._status(original, viewer_account_id, marks, filters)
        head, tail = self._parts(status)
        entity = head.copy()
        if viewer_account_id is not None:
            assert marks is not None
            entity["favourited"] = status.id in marks.favourited
            entity["reblogged"] = status.id in marks.reblogged
            entity["muted"] = False
            entity["bookmarked"] = status.id in marks.bookmarked
            if (
                viewer_account_id == status.account_id
                and status.reblog_of_id is None
                and status.visibility in ("public", "unlisted", "org", "private")
            ):
                entity["pinned"] = status.id in marks.pinned
        entity["content"] = status.content
        if viewer_account_id is not None:
            entity["filtered"] = filters.results(status, original) if filters is not None else []
        entity["reblog"] = reblog
        entity.update(tail)
        entity["poll"] = self._polls.entity(status, viewer_account_id)
        if (question := self._questions.get(status.id)) is not None:
            entity["watercooler"] = question_extra(question)  # stock apps ignore the key
        return entity


def question_extra(question: QuestionRecord) -> dict[str, Any]:
    """Our namespaced extra on a question's Status (apps that know it show the accepted
    answer; the Mastodon keys stay Mastodon's): `question` and `accepted_answer_id`."""
    accepted = question.accepted_answer_id
    return {"question": True, "accepted_answer_id": str(accepted) if accepted else None}


# ----- markers and the instance --------------------------------------------------------------


def marker_entity(marker: Marker) -> dict[str, Any]:
    return {
        "last_read_id": str(marker.last_read_id),
        "version": marker.version,
        "updated_at": iso(marker.updated_at),
    }


def _statuses_configuration() -> dict[str, Any]:
    return {
        "max_characters": MAX_STATUS_CHARACTERS,
        "max_media_attachments": MAX_MEDIA_ATTACHMENTS,
        "characters_reserved_per_url": CHARACTERS_RESERVED_PER_URL,
    }


def _media_configuration() -> dict[str, Any]:
    """Images only: no video or audio, so their limits are 0."""
    return {
        "supported_mime_types": list(IMAGE_TYPES),
        "description_limit": DESCRIPTION_LIMIT,
        "image_size_limit": IMAGE_SIZE_LIMIT,
        "image_matrix_limit": IMAGE_MATRIX_LIMIT,
        "video_size_limit": 0,
        "video_frame_rate_limit": 0,
        "video_matrix_limit": 0,
    }


def _polls_configuration() -> dict[str, Any]:
    return {
        "max_options": 4,
        "max_characters_per_option": 50,
        "min_expiration": 300,
        "max_expiration": 2_629_746,
    }


def instance_v1(
    config: Config,
    *,
    contact_account: dict[str, Any] | None,
    email: str,
    user_count: int,
    status_count: int,
    domain_count: int,
) -> dict[str, Any]:
    """`GET /api/v1/instance` (deprecated by Mastodon, still read by many apps)."""
    base_url = config.instance.base_url
    return {
        "uri": config.instance.domain,
        "title": config.instance.name,
        "short_description": config.instance.description,
        "description": config.instance.description,
        "email": email,
        "version": version_string(),
        "urls": {"streaming_api": streaming_url(base_url)},
        "stats": {
            "user_count": user_count,
            "status_count": status_count,
            "domain_count": domain_count,
        },
        "thumbnail": f"{base_url}{THUMBNAIL_PATH}",
        "languages": ["en"],
        "registrations": False,
        "approval_required": True,
        "invites_enabled": False,
        "configuration": {
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": _statuses_configuration(),
            "media_attachments": _media_configuration(),
            "polls": _polls_configuration(),
        },
        "contact_account": contact_account,
        "rules": [],
    }


def instance_v2(
    config: Config, *, contact_account: dict[str, Any] | None, email: str, active_month: int
) -> dict[str, Any]:
    """`GET /api/v2/instance`. Registrations are closed: accounts are made by IT."""
    base_url = config.instance.base_url
    thumbnail = f"{base_url}{THUMBNAIL_PATH}"
    return {
        "domain": config.instance.domain,
        "title": config.instance.name,
        "version": version_string(),
        "source_url": f"{base_url}/about",
        "description": config.instance.description,
        "usage": {"users": {"active_month": active_month}},
        "thumbnail": {"url": thumbnail},
        "icon": [{"src": f"{base_url}{ICON_PATH}", "size": f"{ICON_SIZE}x{ICON_SIZE}"}],
        "languages": ["en"],
        "configuration": {
            "urls": {
                "streaming": streaming_url(base_url),
                "status": None,
                "about": f"{base_url}/about",
                "privacy_policy": None,
            },
            "vapid": {"public_key": ""},
            "accounts": {
                "max_featured_tags": 10,
                "max_pinned_statuses": 5,
                "max_profile_fields": MAX_PROFILE_FIELDS,
            },
            "statuses": _statuses_configuration(),
            "media_attachments": _media_configuration(),
            "polls": _polls_configuration(),
            "translation": {"enabled": False},
        },
        "registrations": {
            "enabled": False,
            "approval_required": True,
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": email, "account": contact_account},
        "rules": [],
    }
