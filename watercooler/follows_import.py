"""Follows imported from a CSV file: Mastodon's following_accounts.csv ("Account address,Show
boosts,Notify on new posts,Languages"), or a bare list of addresses one a line, as Mastodon
accepts.

The upload is read and checked in the request (`read_follows_csv`: size and row limits, a
clear 4xx otherwise; a malformed address is a failed row, reported, never fatal) and stored
(migration 0032). `FollowImports`, one of the workers, then resolves each address
(WebFinger and the actor, through `RemoteActors`, peer policy applied) and follows it
through the publisher, a few rows per turn, each bounded in time, never in the request.
`overwrite` unfollows, at the end, whom the person followed and the file does not name (as
Mastodon's overwrite mode); `merge` only adds.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from federation.errors import FederationError
from federation.policy import PeerPolicy, normalise_domain, valid_domain
from outbox.loop import run_until_stopped
from outbox.publish import Publisher, PublishError
from outbox.remote import RemoteActors
from store import accounts, exports
from store.db import Database
from store.exports import FollowImport, ImportRow, NewImportRow
from store.records import AccountRecord

log = logging.getLogger(__name__)

MAX_BYTES = 1_000_000
"""The largest file accepted (a following list of 5,000 addresses is ~200 KB)."""
MAX_ROWS = 5_000
"""Addresses per file; Mastodon's own follow limit for most accounts is 7,500."""
MAX_CELL = 400
MODES = ("merge", "overwrite")
BATCH = 10
"""Rows handled per turn of the worker."""
ROW_TIMEOUT = 30.0
"""Seconds one address may take (WebFinger, the actor, the follow) before it fails."""
ADDRESS_HEADER = "Account address"
_USERNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


Outcome = tuple[int | None, str | None]
"""(the followed account's id, None) or (None, why the row failed)."""


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; `status` is the HTTP answer (413, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Address:
    username: str
    domain: str

    def __str__(self) -> str:
        return f"{self.username}@{self.domain}"


def parse_address(text: str) -> Address | None:
    """`name@domain` (also `@name@domain`, and `'@name@domain` as our CSV defuses it)."""
    text = text.strip().removeprefix("'").removeprefix("@")
    username, at, domain = text.partition("@")
    host, _, port = domain.partition(":")
    if not at or not _USERNAME.match(username) or not valid_domain(host):
        return None
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return None
    return Address(username, normalise_domain(domain))


def _flag(value: str, default: bool) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return default


def read_follows_csv(data: bytes) -> list[NewImportRow]:
    """The rows of an uploaded file. ImportRefused for a file too large, not text, not CSV,
    empty or with too many rows; a bad address is a row with `failed` set."""
    if len(data) > MAX_BYTES:
        raise ImportRefused(413, f"The file is larger than {MAX_BYTES // 1000} KB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(422, "The file is not UTF-8 text (a CSV file is).") from None
    if "\x00" in text:
        raise ImportRefused(422, "The file is not a CSV file.")
    records = csv.reader(io.StringIO(text, newline=""))
    columns: dict[str, int] = {}
    rows: list[NewImportRow] = []
    seen: set[str] = set()
    try:
        for number, record in enumerate(records):
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue
            if number == 0 and cells[0].lstrip("\ufeff") == ADDRESS_HEADER:
                columns = {name: index for index, name in enumerate(cells)}
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportRefused(422, f"The file lists more than {MAX_ROWS} accounts.")
            rows.append(_row(cells, columns, seen))
    except csv.Error as error:
        raise ImportRefused(422, f"The file is not valid CSV: {error}") from None
    if not rows:
        raise ImportRefused(422, "The file lists no account.")
    return rows


def _row(cells: list[str], columns: dict[str, int], seen: set[str]) -> NewImportRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    raw = cells[columns.get(ADDRESS_HEADER, 0)] if cells else ""
    shown = raw[:MAX_CELL]
    address = parse_address(raw) if len(raw) <= MAX_CELL else None
    if address is None:
        return NewImportRow(shown, failed="Not an account address (name@domain).")
    key = str(address).lower()
    if key in seen:
        return NewImportRow(str(address), failed="Listed twice in the file.")
    seen.add(key)
    return NewImportRow(
        str(address),
        show_reblogs=_flag(cell("Show boosts"), True),
        notify=_flag(cell("Notify on new posts"), False),
    )


async def start_import(
    db: Database,
    account: AccountRecord,
    rows: list[NewImportRow],
    *,
    mode: str,
    file_name: str,
    now: datetime,
) -> FollowImport:
    """Store an import for the worker. ImportRefused (409) while another one of the same
    person is still running, so one person holds at most MAX_ROWS rows in the queue."""
    if mode not in MODES:
        raise ImportRefused(422, f"The mode is one of {', '.join(MODES)}.")
    async with db.transaction() as conn:
        if await exports.has_pending_import(conn, account.id):
            raise ImportRefused(409, "An import is still running; wait until it has finished.")
        created = await exports.create_import(
            conn,
            db.new_id(),
            account_id=account.id,
            mode=mode,
            file_name=file_name[:200],
            rows=rows,
            now=now,
        )
    log.info(
        "follow import queued account=%s import=%d rows=%d mode=%s",
        account.uri,
        created.id,
        len(rows),
        mode,
    )
    return created


class FollowImports:
    """The worker that follows the imported addresses; `run_once` in tests (the rig drains
    it with the others), `run_forever` in the server."""

    def __init__(
        self,
        db: Database,
        *,
        actors: RemoteActors,
        publisher: Publisher,
        policy: PeerPolicy,
        clock: Callable[[], datetime],
        local_domain: str,
        batch: int = BATCH,
        row_timeout: float = ROW_TIMEOUT,
    ) -> None:
        self.db = db
        self.actors = actors
        self.publisher = publisher
        self.policy = policy
        self.clock = clock
        self.local_domain = normalise_domain(local_domain)
        self.batch = batch
        self.row_timeout = row_timeout
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Follow one batch of the oldest import's rows (or finish it); returns the rows
        handled, +1 for an import finished."""
        async with self.db.read() as conn:
            job = await exports.next_pending_import(conn)
            if job is None:
                return 0
            rows = await exports.pending_rows(conn, job.id, limit=self.batch)
            follower = await accounts.get_by_id(conn, job.account_id)
        if not rows or follower is None or follower.suspended_at is not None:
            await self._finish(job, follower)
            return 1
        for row in rows:
            target, reason = await self._timed(follower, row)
            async with self.db.transaction() as conn:
                await exports.finish_row(
                    conn, job.id, row.position, target_account_id=target, reason=reason
                )
            if reason:
                log.info("follow import row failed import=%d reason=%s", job.id, reason)
        return len(rows)

    async def _timed(
        self, follower: AccountRecord, row: ImportRow
    ) -> tuple[int | None, str | None]:
        try:
            return await asyncio.wait_for(self._follow(follower, row), self.row_timeout)
        except TimeoutError:
            return None, "Its server did not answer in time."

    async def _follow(
        self, follower: AccountRecord, row: ImportRow
    ) -> tuple[int | None, str | None]:
        """(the followed account's id, None) or (None, why not)."""
        address = parse_address(row.address)
        if address is None:
            return None, "Not an account address (name@domain)."
        target = await self._find(address)
        if isinstance(target, str):
            return None, target
        if target.id == follower.id:
            return None, "That is your own account."
        if target.suspended_at is not None:
            return None, "That account is suspended."
        try:
            await self.publisher.follow(
                follower, target, notify=row.notify, reblogs=row.show_reblogs
            )
        except PublishError:
            return None, "Following that account is not allowed (a block)."
        return target.id, None

    async def _find(self, address: Address) -> AccountRecord | str:
        """The account of an address, or why there is none."""
        local = address.domain in (self.local_domain, self.local_domain.split(":")[0])
        if local:
            async with self.db.read() as conn:
                found = await accounts.get_local(conn, address.username)
            if found is None or found.actor_type == "Application":
                return f"There is no account {address.username} here."
            return found
        if not self.policy.allows(address.domain):
            return f"{address.domain} is not a division this one federates with."
        try:
            remote = await self.actors.resolve_handle(address.username, address.domain)
        except FederationError as error:
            return f"{address.domain} could not be reached ({type(error).__name__})."
        if remote is None:
            return f"No account {address} was found on {address.domain}."
        return remote

    async def _finish(self, job: FollowImport, follower: AccountRecord | None) -> None:
        """Overwrite: unfollow whom the file did not name. Then the import is done."""
        unfollowed = 0
        if job.mode == "overwrite" and follower is not None and follower.suspended_at is None:
            async with self.db.read() as conn:
                keep = await exports.followed_target_ids(conn, job.id)
                following = await exports.following_ids(conn, follower.id)
                gone = await accounts.get_many(conn, [t for t in following if t not in keep])
            for target in gone.values():
                await self.publisher.unfollow(follower, target)
                unfollowed += 1
        async with self.db.transaction() as conn:
            await exports.finish_import(conn, job.id, self.clock())
        log.info("follow import done import=%d unfollowed=%d", job.id, unfollowed)

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(
            self.run_once, stop, name="follow import", idle_seconds=5.0, wake=self._wake
        )
