"""A person's archive, in the shape Mastodon exports it (its BackupService), as a zip file:

    outbox.json            an OrderedCollection of the person's Create activities (each with
                           the Note as our outbox renders it) and Announces (their boosts):
                           ALL their posts, every visibility, local-only ones too
    actor.json             their actor document (with publicKey), `icon`/`image` pointing at
                           the files below, `outbox`/`likes`/`bookmarks` at the files here
    avatar.EXT header.EXT  their profile images
    media_attachments/files/NAME   every file attached to their posts; the attachments'
                           `url` in outbox.json points here
    likes.json bookmarks.json      OrderedCollections of the liked / bookmarked posts' ids
    following_accounts.csv Mastodon's follows export ("Account address,Show boosts,Notify on
                           new posts,Languages"), which Mastodon and we import
    blocked_accounts.csv muted_accounts.csv lists.csv  as Mastodon's exports of them

The zip is written into a file (a temporary one for a download) a page of posts at a time,
so the memory used does not grow with the number of posts. This module reads only the
person's own data; who may ask for whose archive is the caller's rule (the settings page:
one's own; the CLI, the admin API and the admin account page: an admin, audited as
'archive.export' by `archive_for_admin`).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

import orjson

from federation import activities
from federation.uris import MEDIA_PATH
from outbox.actors import actor_document
from store import api_queries, exports, keys, statuses
from store.records import AccountRecord, StatusRecord
from watercooler.admin import Actor, record
from watercooler.csv_cells import csv_text
from watercooler.media import MediaFiles

if TYPE_CHECKING:
    from watercooler.services import Services

log = logging.getLogger(__name__)

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
MEDIA_FOLDER = "media_attachments/files/"
PAGE = 100
CHUNK = 256 * 1024
FOLLOWING_HEADER = ("Account address", "Show boosts", "Notify on new posts", "Languages")
MUTED_HEADER = ("Account address", "Hide notifications")
ALL_VISIBILITIES = ("public", "unlisted", "org", "private", "direct")


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    statuses: int
    media_files: int


def full_acct(username: str, domain: str | None, local_domain: str) -> str:
    """`name@domain` for everyone, local accounts too (Mastodon's export writes it so)."""
    return f"{username}@{domain or local_domain}"


async def following_csv(svc: Services, account: AccountRecord) -> str:
    """following_accounts.csv, as Mastodon writes it (Languages is left empty: we keep none)."""
    lines: list[tuple[object, ...]] = []
    after = -1
    while True:
        async with svc.db.read() as conn:
            page = await exports.following_page(conn, account.id, after=after, limit=500)
        for row in page:
            address = full_acct(row.username, row.domain, svc.config.instance.domain)
            lines.append((address, row.show_reblogs, row.notify, ""))
        if len(page) < 500:
            return csv_text(FOLLOWING_HEADER, lines)
        after = page[-1].id


async def blocked_csv(svc: Services, account: AccountRecord) -> str:
    """blocked_accounts.csv: one address a line, no header (Mastodon's)."""
    lines: list[tuple[object, ...]] = []
    after = -1
    while True:
        async with svc.db.read() as conn:
            page = await exports.blocked_page(conn, account.id, after=after, limit=500)
        lines += [(full_acct(u, d, svc.config.instance.domain),) for _, u, d in page]
        if len(page) < 500:
            return csv_text(None, lines)
        after = page[-1][0]


async def muted_csv(svc: Services, account: AccountRecord) -> str:
    lines: list[tuple[object, ...]] = []
    after = -1
    while True:
        async with svc.db.read() as conn:
            page = await exports.muted_page(
                conn, account.id, after=after, limit=500, now=svc.clock()
            )
        lines += [(full_acct(u, d, svc.config.instance.domain), n) for _, u, d, n in page]
        if len(page) < 500:
            return csv_text(MUTED_HEADER, lines)
        after = page[-1][0]


async def lists_csv(svc: Services, account: AccountRecord) -> str:
    async with svc.db.read() as conn:
        members = await exports.list_members(conn, account.id)
    domain = svc.config.instance.domain
    return csv_text(None, [(title, full_acct(u, d, domain)) for title, u, d in members])


class _Writer:
    """The zip being written; file copies run in a thread (they may be large)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)

    def text(self, name: str, data: str | bytes) -> None:
        self.zip.writestr(name, data.encode() if isinstance(data, str) else data)

    async def copy(self, path: Path | None, name: str) -> bool:
        """Copy a stored file into the zip; False (and a log line) if it is missing."""
        if path is None:
            return False
        try:
            await asyncio.to_thread(self.zip.write, path, name)
        except FileNotFoundError:
            log.warning("archive: file missing path=%s", path)
            return False
        return True

    def close(self) -> None:
        self.zip.close()


def _media_name(url: object, prefix: str) -> str | None:
    """The stored file name of one of our media URLs (never a path out of the folder)."""
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    name = url[len(prefix) :]
    return name if name and PurePosixPath(name).name == name and name not in (".", "..") else None


async def _item(
    svc: Services, author: AccountRecord, status: StatusRecord, media: set[str]
) -> dict[str, Any] | None:
    """One outbox item: a Create of the Note, or an Announce of a boost; the attachments'
    URLs made to point into the archive (their names added to `media`)."""
    if status.reblog_of_id is not None:
        async with svc.db.read() as conn:
            original = await statuses.get_by_id(conn, status.reblog_of_id)
        if original is None:
            return None
        followers = author.followers_url or svc.uris.followers(author.username)
        return activities.announce(
            status.uri, author.uri, original.uri, [PUBLIC], [followers], status.created_at
        )
    note = await svc.publisher.note_json(status)
    prefix = f"{svc.uris.base_url}{MEDIA_PATH}/"
    for attachment in note.get("attachment") or []:
        if isinstance(attachment, dict) and (name := _media_name(attachment.get("url"), prefix)):
            attachment["url"] = MEDIA_FOLDER + name
            media.add(name)
    return activities.create(author.uri, note)


async def _outbox(svc: Services, author: AccountRecord, writer: _Writer) -> tuple[int, set[str]]:
    """outbox.json, written item by item into the zip entry."""
    async with svc.db.read() as conn:
        total = await exports.count_statuses(conn, author.id)
    media: set[str] = set()
    context: Any = AS
    written = 0
    with writer.zip.open("outbox.json", "w") as entry:
        head = {"id": "outbox.json", "type": "OrderedCollection", "totalItems": total}
        entry.write(orjson.dumps(head)[:-1] + b',"orderedItems":[')
        max_id = None
        while True:
            async with svc.db.read() as conn:
                page = await statuses.list_by_account(
                    conn, author.id, visibilities=ALL_VISIBILITIES, max_id=max_id, limit=PAGE
                )
            for status in page:
                item = await _item(svc, author, status, media)
                if item is None:
                    continue
                item_context = item.pop("@context", None)
                if item_context is not None and (context == AS or item["object"].get("orgOnly")):
                    context = item_context  # an org note's context has every term
                entry.write((b"," if written else b"") + orjson.dumps(item))
                written += 1
            if len(page) < PAGE:
                break
            max_id = page[-1].id
        entry.write(b'],"@context":' + orjson.dumps(context) + b"}")
    return written, media


async def _uri_collection(
    svc: Services, author: AccountRecord, table: str, writer: _Writer
) -> None:
    """likes.json or bookmarks.json: the posts' ids, oldest first."""
    name = "likes.json" if table == "favourites" else "bookmarks.json"
    count, after = 0, -1
    with writer.zip.open(name, "w") as entry:
        head = {"@context": AS, "id": name, "type": "OrderedCollection"}
        entry.write(orjson.dumps(head)[:-1] + b',"orderedItems":[')
        while True:
            async with svc.db.read() as conn:
                page = await exports.status_uris_page(
                    conn, table, author.id, after=after, limit=500
                )
            for _, uri in page:
                entry.write((b"," if count else b"") + orjson.dumps(uri))
                count += 1
            if len(page) < 500:
                break
            after = page[-1][0]
        entry.write(b'],"totalItems":' + str(count).encode() + b"}")


async def _actor(svc: Services, author: AccountRecord, writer: _Writer) -> None:
    """actor.json and the profile images, as Mastodon's archive names them."""
    async with svc.db.read() as conn:
        key = await keys.get_for_account(conn, author.id)
        fields = await api_queries.profile_fields(conn, author.id)
    assert key is not None, f"no key for {author.username}"
    document = actor_document(author, key, svc.uris, fields=fields)
    files = MediaFiles(svc.config.media.path)
    for field, stem, file_name in (
        ("icon", "avatar", author.avatar_file),
        ("image", "header", author.header_file),
    ):
        if file_name and isinstance(document.get(field), dict):
            archived = stem + PurePosixPath(file_name).suffix
            if await writer.copy(files.path(file_name), archived):
                document[field]["url"] = archived
    document["outbox"] = "outbox.json"
    document["likes"] = "likes.json"
    document["bookmarks"] = "bookmarks.json"
    writer.text("actor.json", orjson.dumps(document))


async def write_archive(svc: Services, author: AccountRecord, out: IO[bytes]) -> ArchiveSummary:
    """The archive of a local account, written as a zip into `out`."""
    writer = _Writer(out)
    try:
        written, media = await _outbox(svc, author, writer)
        files = MediaFiles(svc.config.media.path)
        copied = 0
        for name in sorted(media):
            copied += await writer.copy(files.path(name), MEDIA_FOLDER + name)
        await _actor(svc, author, writer)
        await _uri_collection(svc, author, "favourites", writer)
        await _uri_collection(svc, author, "bookmarks", writer)
        writer.text("following_accounts.csv", await following_csv(svc, author))
        writer.text("blocked_accounts.csv", await blocked_csv(svc, author))
        writer.text("muted_accounts.csv", await muted_csv(svc, author))
        writer.text("lists.csv", await lists_csv(svc, author))
    finally:
        writer.close()
    log.info("archive written account=%s statuses=%d media=%d", author.uri, written, copied)
    return ArchiveSummary(written, copied)


def archive_name(author: AccountRecord, svc: Services) -> str:
    return f"archive-{author.username}-{svc.clock().strftime('%Y%m%d%H%M%S')}.zip"


async def archive_file(svc: Services, author: AccountRecord) -> tuple[IO[bytes], ArchiveSummary]:
    """The archive in a temporary file, read from its start (the caller closes it; closing
    removes it)."""
    file = tempfile.TemporaryFile()
    try:
        summary = await write_archive(svc, author, file)
        await asyncio.to_thread(file.seek, 0)
    except BaseException:
        file.close()
        raise
    return file, summary


async def archive_for_admin(
    svc: Services, actor: Actor, author: AccountRecord
) -> tuple[IO[bytes], ArchiveSummary]:
    """Someone else's archive, for an admin (an employee leaving, a request from Legal):
    recorded as 'archive.export' once it is built and before a byte of it is handed over."""
    file, summary = await archive_file(svc, author)
    details = {"statuses": summary.statuses, "media_files": summary.media_files, "to": "download"}
    try:
        await record(svc.db, svc.clock, actor, "archive.export", author.username, details)
    except BaseException:
        file.close()
        raise
    return file, summary


async def file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    """A file's bytes for a streamed answer, read off the event loop; closes it at the end."""
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        file.close()
