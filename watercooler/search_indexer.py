"""The search indexer: turns the statuses queued in `search_pending` (by triggers, in the
transaction that wrote them) into FTS5 rows, in batches, off the request path.

FTS5 indexing costs about 200 us per 1 KB post, more than a whole signed inbox request, so
neither the inbox nor `POST /api/v1/statuses` pays it; a post is findable a few milliseconds
after its commit, when the poke from the publisher or the inbox worker wakes this loop.
The index is derived data: its commits do not wait for the disk (`redoable`), and what a
power loss takes back is still queued and indexed again.
"""

from __future__ import annotations

import asyncio
import logging
import re

from outbox.loop import run_until_stopped
from store import search_index
from store.db import Database
from store.search_index import IndexRow, IndexSource
from watercooler.filters import html_text

log = logging.getLogger(__name__)

BATCH = 256
_ANCHOR = re.compile(r"<a\b([^>]*)>", re.IGNORECASE)
_CLASS = re.compile(r"""\bclass\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*["']?https?://""", re.IGNORECASE)


def _has_link(content: str) -> bool:
    """A link to a web page in the post: an anchor that is not a mention or a hashtag."""
    for anchor in _ANCHOR.finditer(content):
        attributes = anchor.group(1)
        if not _HREF.search(attributes):
            continue
        classes = _CLASS.search(attributes)
        names = set(classes.group(1).split()) if classes else set()
        if not names & {"mention", "hashtag"} and 'rel="tag"' not in attributes:
            return True
    return False


def index_row(source: IndexSource) -> IndexRow:
    """The words (content warning, title, plain text, media descriptions) and the facts
    the search operators ask about."""
    text = source.text if source.local and source.text else html_text(source.content)
    parts = [source.spoiler_text, source.name or "", text]
    parts += [description for _, description in source.media]
    meta = [search_index.ALL, search_index.author_token(source.account_id)]
    if source.media:
        meta.append("hasmedia")
        meta += sorted({search_index.MEDIA_TYPES.get(kind, "hasmedia") for kind, _ in source.media})
    if _has_link(source.content):
        meta.append("haslink")
    if source.object_type == "Question":
        meta.append("haspoll")
    if source.reply:
        meta.append("isreply")
    if source.sensitive:
        meta.append("issensitive")
    if source.language:
        meta.append(search_index.language_token(source.language))
    meta += [search_index.tag_token(name) for name in source.tags]
    body = "\n".join(part for part in parts if part)
    return IndexRow(source.id, body, " ".join(dict.fromkeys(meta)))


class SearchIndexer:
    """Indexes what is queued; `run_forever` in the server, `run_once` in tests (drain)."""

    def __init__(self, db: Database, *, batch: int = BATCH) -> None:
        self.db = db
        self.batch = batch
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Wake the loop: something was just committed that may be queued for indexing."""
        self._wake.set()

    async def run_once(self) -> int:
        """Index one batch of queued statuses; returns how many queue entries it took."""
        async with self.db.read() as conn:
            entries = await search_index.queued(conn, self.batch)
            if not entries:
                return 0
            found = await search_index.sources(
                conn, list(dict.fromkeys(e.status_id for e in entries))
            )
        rows = [index_row(source) for source in found.values()]
        with self.db.redoable():
            async with self.db.transaction() as conn:
                await search_index.write(conn, entries, rows)
        return len(entries)

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(
            self.run_once, stop, name="search indexer", idle_seconds=5.0, wake=self._wake
        )
