"""Keeping a copy of every peer's people: the directory sync worker.

For each peer (`policy.peers`, as it changes at run time) the worker reads the peer's
directory feed (federation.directory) from where it stopped, with GETs signed by our instance
actor, and stores each page in one transaction together with the new place in the feed:
people become (or refresh) remote accounts exactly as a fetched actor would
(outbox.remote.store_actor), so they are found by the client API's search and directory and
can be followed at once; people who left are hidden (store.directory.mark_left).

A peer is read when first seen (so soon after start, or after IT adds it), then every
`period`; when it fails, again after a backoff, without holding up the others (peers are
read concurrently, each run bounded in pages and time). `request()` makes peers due now,
from this process or through the database from another one (the CLI, the bench).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from federation import directory as feed
from federation.errors import FederationError
from federation.fetch import Fetcher, ObjectNotFound
from federation.policy import PeerPolicy, domain_of
from outbox.remote import RemoteActors, store_actor
from store import accounts, directory
from store.db import Database
from store.directory import PeerSync
from store.errors import Conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectorySettings:
    period: timedelta = timedelta(minutes=5)
    """Between two readings of a peer's feed that succeeded."""
    first_retry: timedelta = timedelta(seconds=30)
    """After a failure; doubled for each further failure in a row, up to `period`."""
    not_served_retry: timedelta = timedelta(hours=1)
    """After a peer answered 404: it serves no feed (not Watercooler, or older)."""
    max_pages: int = 25
    """Pages read from one peer per run; a longer feed goes on in the next run, at once."""
    run_seconds: float = 120.0
    """One peer's run at most; each request is bounded by the HTTP client's timeout too."""
    concurrency: int = 4
    poll_seconds: float = 1.0
    """How often a running server looks for peers that are due."""


@dataclass(frozen=True)
class SyncReport:
    """One run over one peer's feed."""

    domain: str
    urls: tuple[str, ...] = ()
    """The pages fetched, in order."""
    people: int = 0
    """People stored or refreshed."""
    left: int = 0
    """People hidden because they left."""
    skipped: int = 0
    cursor: int = 0
    more: bool = False
    """Stopped at `max_pages` with more to read (the next run comes at once)."""
    error: str | None = None

    @property
    def items(self) -> int:
        return self.people + self.left


@dataclass
class _Progress:
    urls: list[str] = field(default_factory=list)
    people: int = 0
    left: int = 0
    skipped: int = 0


class DirectorySync:
    def __init__(
        self,
        db: Database,
        policy: PeerPolicy,
        actors: RemoteActors,
        fetcher: Fetcher,
        clock: Callable[[], datetime],
        settings: DirectorySettings | None = None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.actors = actors
        self.fetcher = fetcher
        self.clock = clock
        self.settings = settings or DirectorySettings()
        self.reports: dict[str, SyncReport] = {}
        """The last run over each peer (for tests and logs; `directory_peers` keeps the rest)."""

    async def request(self, domain: str | None = None, *, full: bool = False) -> int:
        """Make the feed of `domain` (or of every peer) due now; `full`: from the beginning."""
        now = self.clock()
        async with self.db.transaction() as conn:
            await directory.add_peers(conn, self._peers(), now)
            return await directory.request_sync(conn, now, domain=domain, full=full)

    def _peers(self) -> list[str]:
        return sorted(d for d in self.policy.peers if self.policy.is_peer(d))

    async def run_once(self) -> int:
        """Read every due peer's feed; returns the people stored or hidden (0: nothing to do)."""
        now = self.clock()
        peers = self._peers()
        async with self.db.read() as conn:
            states = {s.domain: s for s in await directory.peer_syncs(conn)}
        if any(domain not in states for domain in peers):
            async with self.db.transaction() as conn:
                await directory.add_peers(conn, peers, now)
                states = {s.domain: s for s in await directory.peer_syncs(conn)}
        due = [states[d] for d in peers if states[d].next_sync_at <= now]
        if not due:
            return 0
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def one(state: PeerSync) -> SyncReport:
            async with limit:
                return await self.sync(state)

        reports = await asyncio.gather(*(one(state) for state in due))
        return sum(report.items for report in reports)

    async def sync(self, state: PeerSync) -> SyncReport:
        """Read one peer's feed from its cursor: up to `max_pages` pages, each stored with
        the cursor it leads to, so an interrupted run resumes where it stopped."""
        started = self.clock()
        progress = _Progress()
        cursor, more, error = state.cursor, False, None
        retry = self.settings.period
        try:
            async with asyncio.timeout(self.settings.run_seconds):
                cursor, more = await self._read(state.domain, state.cursor, progress)
        except ObjectNotFound as failed:
            error, retry = f"no directory feed: {failed}", self.settings.not_served_retry
        except (FederationError, TimeoutError) as failed:
            error, retry = str(failed) or type(failed).__name__, self._backoff(state)
        except Exception as failed:  # a bug or a store error: logged, and not retried hot
            log.exception("directory sync crashed domain=%s", state.domain)
            error, retry = f"internal error: {failed!r}", self._backoff(state)
        finished = self.clock()
        if more:
            retry = timedelta(0)
        items = progress.people + progress.left
        async with self.db.transaction() as conn:
            await directory.finish_sync(
                conn,
                state.domain,
                started=started,
                finished=finished,
                next_at=finished + retry,
                pages=len(progress.urls),
                items=items,
                error=error,
            )
        report = SyncReport(
            state.domain,
            tuple(progress.urls),
            progress.people,
            progress.left,
            progress.skipped,
            cursor,
            more,
            error,
        )
        self.reports[state.domain] = report
        seconds = (finished - started).total_seconds()
        if error is None:
            log.info(
                "directory synced domain=%s pages=%d people=%d left=%d skipped=%d cursor=%d"
                " seconds=%.3f",
                state.domain,
                len(progress.urls),
                progress.people,
                progress.left,
                progress.skipped,
                cursor,
                seconds,
            )
        else:
            log.warning(
                "directory sync failed domain=%s failures=%d error=%s",
                state.domain,
                state.failures + 1,
                error,
            )
        return report

    def _backoff(self, state: PeerSync) -> timedelta:
        """The wait after one more failure in a row: doubling from `first_retry`."""
        return min(self.settings.first_retry * 2 ** min(state.failures, 16), self.settings.period)

    async def _read(self, domain: str, cursor: int, progress: _Progress) -> tuple[int, bool]:
        """(cursor reached, whether more is left) after reading pages from `cursor`."""
        url = await self._feed(domain)
        for _ in range(self.settings.max_pages):
            page_url = feed.page_url(url, cursor)
            progress.urls.append(page_url)
            page = feed.parse_directory_page(await self.fetcher.fetch_json(page_url), domain)
            next_since = page.next_since if page.next_since is not None else cursor
            await self._store(domain, page, next_since, progress)
            if next_since == cursor:
                return cursor, False
            cursor = next_since
        return cursor, True

    async def _feed(self, domain: str) -> str:
        """The feed's URL, under the peer's instance actor (found by WebFinger, as peering
        finds it, and kept in our store)."""
        actor = await self.actors.resolve_handle(domain, domain)
        if actor is None or domain_of(actor.uri) != domain:
            raise FederationError(f"no instance actor found for {domain}")
        if actor.actor_type not in ("Application", "Service"):
            raise FederationError(f"{actor.uri} is not an instance actor")
        return feed.feed_url(actor.uri)

    async def _store(
        self, domain: str, page: feed.DirectoryPage, cursor: int, progress: _Progress
    ) -> None:
        """One page and the cursor it leads to, in one transaction."""
        now = self.clock()
        progress.skipped += page.skipped
        async with self.db.transaction() as conn:
            for person in page.people:
                if not person.discoverable and await accounts.get_by_uri(conn, person.id) is None:
                    continue  # not in their directory, and never met here: not ours to keep
                try:
                    stored = await store_actor(conn, self.db.new_id, person, now)
                except Conflict:
                    progress.skipped += 1
                    continue
                if stored.suspended_at is not None:  # hidden when they left: back now?
                    await directory.mark_returned(conn, stored.id)
                progress.people += 1
            for uri in page.gone:
                known = await accounts.get_by_uri(conn, uri)
                if known is not None and not known.is_local:
                    progress.left += int(await directory.mark_left(conn, known.id, now))
            await directory.save_cursor(conn, domain, cursor)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("directory sync cycle failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_seconds)
            except TimeoutError:
                pass
