"""The division's retention policy and its job: delete posts older than N days, optionally of
some visibilities only, except those under legal hold (watercooler.holds).

What a run does, on the injected clock, in bounded batches:

- a LOCAL post is deleted through the publisher's normal delete path
  (`Publisher.delete`), so its followers' and mentioned people's divisions receive the
  `Delete`, as when its author deletes it; beyond that tombstone, its edit history and its
  media (rows and files) are erased too, in the same transaction;
- a REMOTE post (a copy of another division's post) is purged here only, without federating:
  we cannot delete another division's post, and its own division's policy governs it there;
- a post a legal hold covers is skipped and counted (checked again inside the deleting
  transaction, so a hold made meanwhile still wins);
- boosts are left alone (they hold no content of their own); pinned posts are not: a
  division's policy is the organisation's record-keeping rule, not a user's preference
  (Mastodon's per-user auto-delete keeps pinned posts because the user chose them).

A run is bounded (MAX_PER_RUN posts, TIME_BUDGET seconds); what is left is taken up by the
next run at once. Every delete commits with its `Delete` activities and the run's counters,
so a crash loses nothing acknowledged: the next run deletes the rest, and the cut-short run's
audit row ('retention.run', with `interrupted`) is written by a later run. Each run that
deleted or purged anything writes one audit row (origin 'system', or the admin who asked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from outbox.publish import Publisher
from store import accounts, conversations, legal_holds, retention, statuses
from store.db import Connection, Database
from store.records import StatusRecord
from store.retention import VISIBILITIES, Candidate, Remains, RetentionPolicy, RetentionRun
from watercooler.admin import Actor, audit_row
from watercooler.media import MediaFiles

log = logging.getLogger(__name__)

INTERVAL = timedelta(hours=1)
"""How often the server runs the job (and once when it starts)."""
BATCH = 100
MAX_PER_RUN = 2000
"""Posts a run looks at, at most (deleted, purged or skipped because held)."""
TIME_BUDGET = 30.0
"""Seconds of work per run, at most; the rest is the next run's."""
STALE = timedelta(minutes=10)
"""A run unfinished for this long was cut short (a run never lasts near that long)."""
MAX_DAYS = 36_500
SYSTEM = Actor.system("retention")


class RetentionError(ValueError):
    """A policy that cannot be set as asked; the message is for the admin."""


class _Held(Exception):
    """Raised inside a delete's transaction when a hold covers the post: rolls it back."""


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: int | None
    cutoff: datetime | None
    deleted: int = 0
    purged: int = 0
    held: int = 0
    more: bool = False


def checked_policy(days: object, visibilities: object) -> tuple[int, tuple[str, ...]]:
    """Days (1..MAX_DAYS) and visibilities (known names, in canonical order; () = all)."""
    try:
        number = int(str(days).strip())
    except ValueError:
        raise RetentionError(f"Days must be a whole number, not {days!r}") from None
    if not 1 <= number <= MAX_DAYS:
        raise RetentionError(f"Days must be between 1 and {MAX_DAYS}")
    if isinstance(visibilities, str):
        names = [v.strip().lower() for v in visibilities.split(",") if v.strip()]
    elif isinstance(visibilities, (list, tuple)):
        names = [str(v).strip().lower() for v in visibilities if str(v).strip()]
    elif visibilities is None:
        names = []
    else:
        raise RetentionError("Visibilities must be a list")
    unknown = sorted(set(names) - set(VISIBILITIES))
    if unknown:
        raise RetentionError(
            f"Unknown visibility {', '.join(unknown)}; known: {', '.join(VISIBILITIES)}"
        )
    chosen = tuple(v for v in VISIBILITIES if v in names)
    return number, () if len(chosen) == len(VISIBILITIES) else chosen


def policy_details(policy: RetentionPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "days": policy.days,
        "visibilities": list(policy.applies_to),
    }


async def _audit(
    conn: Connection,
    actor: Actor,
    action: str,
    target: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    await audit_row(conn, now, actor, action, target, details)


async def set_policy(
    db: Database, actor: Actor, days: object, visibilities: object, now: datetime
) -> RetentionPolicy:
    """Turn retention on (or change it); audited 'retention.set'. RetentionError if bad."""
    number, chosen = checked_policy(days, visibilities)
    async with db.transaction() as conn:
        before = await retention.get_policy(conn)
        if before is not None and (before.days, before.visibilities) == (number, chosen):
            return before
        await retention.set_policy(conn, days=number, visibilities=chosen, now=now)
        policy = await retention.get_policy(conn)
        assert policy is not None
        details = {**policy_details(policy), "before": policy_details(before)}
        await _audit(conn, actor, "retention.set", "retention", details, now)
    return policy


async def turn_off(db: Database, actor: Actor, now: datetime) -> bool:
    """Retention off; audited 'retention.set' (enabled: false). False if it was off."""
    async with db.transaction() as conn:
        before = await retention.get_policy(conn)
        if not await retention.clear_policy(conn):
            return False
        details = {"enabled": False, "before": policy_details(before)}
        await _audit(conn, actor, "retention.set", "retention", details, now)
    return True


class RetentionJob:
    """The worker: `run_once()` runs the job when due (in the server's loop and the tests'
    drain), `run(actor=...)` runs it now (the CLI, the admin page and API)."""

    def __init__(
        self,
        publisher: Publisher,
        media_root: str | Path,
        *,
        batch: int = BATCH,
        max_per_run: int = MAX_PER_RUN,
        time_budget: float = TIME_BUDGET,
        idle_seconds: float = 60.0,
    ) -> None:
        self.publisher = publisher
        self.db = publisher.db
        self.media_root = Path(media_root)
        self.batch = batch
        self.max_per_run = max_per_run
        self.time_budget = time_budget
        self.idle_seconds = idle_seconds
        self._last_start: datetime | None = None  # None: not run since this process started
        self._resume_after: int | None = None  # where a run cut short by its bounds stopped
        self._deleting: dict[int, tuple[int, Remains]] = {}
        self._running = asyncio.Lock()  # the hourly run and an admin's "run now", one at a time
        publisher.change_hooks.append(self._on_change)

    async def _due(self, now: datetime) -> bool:
        async with self.db.read() as conn:
            policy = await retention.get_policy(conn)
        if policy is None:
            return False
        if self._last_start is None or self._resume_after is not None:
            return True
        return now >= self._last_start + INTERVAL

    async def run_once(self) -> int:
        """Posts deleted or purged, if the job was due (0 if not, or if retention is off)."""
        now = self.publisher.clock()
        await self.close_stale_runs(now)
        if not await self._due(now):
            return 0
        result = await self.run(now=now)
        return result.deleted + result.purged

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("retention job cycle failed")
                done = 0
            if done == 0 or self._resume_after is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.idle_seconds)

    async def close_stale_runs(self, now: datetime) -> int:
        """Write the audit row of runs a crash cut short (they deleted what they counted)."""
        async with self.db.read() as conn:
            stale = [
                run
                for run in await retention.unfinished_runs(conn)
                if run.started_at <= now - STALE
            ]
        for run in stale:
            await self._finish(run.id, SYSTEM, now, more=True, interrupted=True)
        return len(stale)

    async def run(self, *, now: datetime | None = None, actor: Actor = SYSTEM) -> RunResult:
        """One bounded run of the policy, now. A run with nothing to do leaves no audit row."""
        async with self._running:
            return await self._run(now or self.publisher.clock(), actor)

    async def _run(self, now: datetime, actor: Actor) -> RunResult:
        async with self.db.transaction() as conn:
            policy = await retention.get_policy(conn)
            if policy is None:
                return RunResult(None, None)
            cutoff = now - timedelta(days=policy.days)
            run = await retention.start_run(conn, self.db.new_id(), policy, cutoff, now)
        self._last_start = now
        after, self._resume_after = self._resume_after or 0, None
        started, examined = time.monotonic(), 0
        more = False
        while True:
            room = self.max_per_run - examined
            if room <= 0 or time.monotonic() - started > self.time_budget:
                more = True
                break
            async with self.db.read() as conn:
                batch = await retention.candidates(
                    conn,
                    cutoff=cutoff,
                    visibilities=policy.applies_to,
                    after_id=after,
                    limit=min(self.batch, room),
                )
            if not batch:
                break
            await self._batch(run, batch)
            examined += len(batch)
            after = batch[-1].id
        if more:
            self._resume_after = after
        result = await self._finish(run.id, actor, now, more=more)
        log.info(
            "retention run=%d cutoff=%s deleted=%d purged=%d held=%d more=%s",
            run.id,
            cutoff.isoformat(),
            result.deleted,
            result.purged,
            result.held,
            more,
        )
        return result

    async def _batch(self, run: RetentionRun, batch: Sequence[Candidate]) -> None:
        async with self.db.transaction() as conn:  # indexes not-yet-indexed posts to match
            held = await legal_holds.covering(conn, [c.id for c in batch])
            await retention.count(conn, run.id, held=len(held))
        for candidate in batch:
            if candidate.id in held:
                continue
            if candidate.local:
                await self._delete_local(run, candidate)
            else:
                await self._purge_remote(run, candidate)

    async def _delete_local(self, run: RetentionRun, candidate: Candidate) -> None:
        async with self.db.read() as conn:
            status = await statuses.get_by_id(conn, candidate.id)
            author = await accounts.get_by_id(conn, candidate.account_id)
            remains = await retention.remains(conn, [candidate.id])
        if status is None or author is None or status.deleted_at is not None:
            return
        self._deleting[status.id] = (run.id, remains)
        try:
            document = await self.publisher.delete(author, status)
        except _Held:
            async with self.db.transaction() as conn:
                await retention.count(conn, run.id, held=1)
            return
        finally:
            self._deleting.pop(status.id, None)
        if document is not None:  # None: deleted meanwhile by someone else, rows untouched
            await self._erase_files(remains.files)

    async def _on_change(
        self, conn: Connection, status: StatusRecord, document: dict[str, Any]
    ) -> None:
        """In the publisher's delete transaction of a post this job deletes: give way to a
        hold made since the batch was checked, else erase the post's remains and count it."""
        deleting = self._deleting.get(status.id)
        if deleting is None or document.get("type") != "Delete":
            return
        run_id, remains = deleting
        if await legal_holds.is_preserved(conn, status.id):
            raise _Held(status.uri)
        await retention.erase_remains(conn, status.id, remains.media_ids)
        await retention.count(conn, run_id, deleted=1)

    async def _purge_remote(self, run: RetentionRun, candidate: Candidate) -> None:
        now = self.publisher.clock()
        async with self.db.transaction() as conn:
            status = await statuses.get_by_id(conn, candidate.id)
            if status is None or status.deleted_at is not None:
                return
            if await legal_holds.covering(conn, [status.id]):
                await retention.count(conn, run.id, held=1)
                return
            remains = await retention.remains(conn, [status.id])
            await statuses.mark_deleted(conn, status.id, now)
            await conversations.remove_status(conn, status.id)
            if status.in_reply_to_id is not None:
                await statuses.adjust_count(conn, status.in_reply_to_id, "replies_count", -1)
            await retention.erase_remains(conn, status.id, remains.media_ids)
            await retention.count(conn, run.id, purged=1)
        self.publisher.notify()
        await self._erase_files(remains.files)

    async def _erase_files(self, names: Sequence[str]) -> None:
        """Remove the media files of erased rows, except those a preserved copy names. After
        the commit: a crash in between leaves a file no row names, never a row without it."""
        if not names:
            return
        async with self.db.read() as conn:
            kept = await legal_holds.held_files(conn, names)
        for name in names:
            path = MediaFiles(self.media_root).path(name)
            if name in kept or path is None:
                continue
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                log.warning("retention could not remove media file=%s error=%s", name, error)

    async def _finish(
        self, run_id: int, actor: Actor, now: datetime, *, more: bool, interrupted: bool = False
    ) -> RunResult:
        async with self.db.transaction() as conn:
            run = await retention.get_run(conn, run_id)
            assert run is not None
            await retention.finish_run(conn, run_id, more=more, now=now)
            if run.deleted or run.purged:
                details: dict[str, Any] = {
                    "run": run.id,
                    "deleted": run.deleted,
                    "purged_remote": run.purged,
                    "skipped_held": run.held,
                    "cutoff": run.cutoff.isoformat(),
                    "days": run.days,
                    "visibilities": list(run.visibilities or VISIBILITIES),
                    "more": more,
                }
                if interrupted:
                    details["interrupted"] = True
                await _audit(conn, actor, "retention.run", "retention", details, now)
        return RunResult(run.id, run.cutoff, run.deleted, run.purged, run.held, more)
