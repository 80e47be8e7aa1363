"""Peering at run time: the peer list IT changes, the instance actors' link, the counters.

The peer list lives in the database (`store.peers`): `[[peers]]` from the config, peers added
with `watercooler peer add` or the admin API, and those of the adopted org manifest. One
`PeerPolicy` object is shared by every network edge; `Peering` keeps it equal to the stored
lists, within a second of a change made by another process (the CLI) and at once for one
made here (the admin API).

Adding a peer makes the two instance actors follow each other. Each side accepts only a
peer it lists itself, so the link exists exactly when both list each other; through it,
public and org posts reach every division (the organisation timeline). Removing a peer
drops both follows and cancels what was queued for it, and the policy refuses it at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from federation.policy import PeerPolicy, domain_of, normalise_domain
from inbox.receive import Intake
from outbox.publish import Publisher, PublishError
from outbox.remote import RemoteActors
from store import accounts, deliveries, follows, peers
from store.db import Connection, Database
from store.peers import PeerRecord
from store.records import AccountRecord
from watercooler import audit_events

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often a running server looks for changes made by another process, and adds what
its edges refused to the stored counts."""
LINK_RETRY = timedelta(minutes=1)
"""The longest wait between attempts to reach a peer whose instance actor could not be
followed."""
LINK_FIRST_RETRY = timedelta(seconds=2)
"""The wait after a first failure, doubled after each further one up to `LINK_RETRY`: two
divisions started together each try before the other listens, and should not both then sit
out a whole minute."""


class PeerError(ValueError):
    """A peer change that cannot be made, with a message for the admin."""


@dataclass(frozen=True)
class PeerLink:
    """Whether each instance actor follows the other's."""

    outgoing: str | None  # our follow of theirs: None, 'pending' or 'accepted'
    incoming: str | None  # theirs of ours


async def remove_peer(conn: Connection, domain: str, now: datetime) -> PeerRecord:
    """Stop federating with `domain`, in the caller's transaction (with its audit row): its
    row, both instance-actor follows and every unfinished delivery to it go. PeerError if it
    is not a peer or is listed in the config (which would list it again at the next start).
    A running server's policy follows at its next poll, or at once after `Peering.reload`."""
    domain = normalise_domain(domain)
    found = await peers.get(conn, domain)
    if found is None:
        raise PeerError(f"{domain} is not a peer")
    if found.source == "config":
        raise PeerError(f"{domain} is listed in the config file: remove its [[peers]] entry")
    await peers.remove(conn, domain)
    await unlink_peer(conn, found)
    cancelled = await deliveries.cancel_for_host(conn, domain, now, reason="peer removed")
    log.info("peer removal domain=%s cancelled_deliveries=%d", domain, cancelled)
    return found


async def unlink_peer(conn: Connection, peer: PeerRecord) -> None:
    """Drop the follows between our instance actor and the peer's."""
    ours = await accounts.get_instance_actor(conn)
    theirs = await accounts.get_by_uri(conn, peer.actor_uri) if peer.actor_uri else None
    if ours is None or theirs is None:
        return
    for follower, target in ((ours, theirs), (theirs, ours)):
        record = await follows.get(conn, follower.id, target.id)
        if record is not None:
            await follows.delete(conn, record.id)


async def link_of(conn: Connection, peer: PeerRecord) -> PeerLink:
    ours = await accounts.get_instance_actor(conn)
    theirs = await accounts.get_by_uri(conn, peer.actor_uri) if peer.actor_uri else None
    if ours is None or theirs is None:
        return PeerLink(None, None)
    outgoing = await follows.get(conn, ours.id, theirs.id)
    incoming = await follows.get(conn, theirs.id, ours.id)
    return PeerLink(outgoing.state if outgoing else None, incoming.state if incoming else None)


@dataclass(frozen=True)
class PeerStatus:
    """One peer as `peer status` and the admin API show it."""

    peer: PeerRecord
    link: PeerLink
    last_success_at: datetime | None
    queued: int  # deliveries waiting: pending and retrying
    dead: int
    signature_failures: int
    last_error: str | None  # of the latest delivery or linking attempt


async def peer_statuses(db: Database) -> list[PeerStatus]:
    """Every peer with its link, delivery queue and signature failures."""
    async with db.read() as conn:
        listed = await peers.all_peers(conn)
        hosts = {h.host: h for h in await deliveries.summary_by_host(conn)}
        failures = {c.domain: c.count for c in await peers.counters(conn, kind="signature_failed")}
        links = [await link_of(conn, p) for p in listed]
    found = []
    for peer, link in zip(listed, links, strict=True):
        host = hosts.get(peer.domain)
        found.append(
            PeerStatus(
                peer=peer,
                link=link,
                last_success_at=host.last_success_at if host else None,
                queued=host.pending + host.retrying if host else 0,
                dead=host.dead if host else 0,
                signature_failures=failures.get(peer.domain, 0),
                last_error=peer.last_error or (host.last_error if host else None),
            )
        )
    return found


class Peering:
    """Keeps the shared policy equal to the stored lists, links instance actors with peers,
    and adds the edges' refusal counts to the stored totals."""

    def __init__(
        self,
        db: Database,
        policy: PeerPolicy,
        *,
        intake: Intake,
        publisher: Publisher,
        actors: RemoteActors,
        clock: Callable[[], datetime],
        config_peers: frozenset[str],
    ) -> None:
        self.db = db
        self.policy = policy
        self.intake = intake
        self.publisher = publisher
        self.actors = actors
        self.clock = clock
        self.config_peers = config_peers
        self._version: int | None = None
        self._link_failures: dict[str, int] = {}
        """Consecutive failed link attempts per peer in this process (a restart starts over)."""

    async def start(self) -> None:
        """Mirror `[[peers]]` into the stored list and load the policy from it."""
        async with self.db.transaction() as conn:
            added, removed = await peers.replace_source(
                conn, "config", dict.fromkeys(self.config_peers), now=self.clock()
            )
            if added or removed:
                await audit_events.config_peers_changed(
                    conn, self.clock(), added=added, removed=removed
                )
        if added or removed:
            log.info("config peers added=%s removed=%s", added, removed)
        await self.reload()

    async def reload(self) -> None:
        """Read both lists and swap them into the policy."""
        async with self.db.read() as conn:
            version = await peers.version(conn)
            listed = await peers.all_peers(conn)
            blocks = await peers.all_blocks(conn)
        self.policy.update(
            peers=[p.domain for p in listed],
            blocked=[b.domain for b in blocks if b.severity == "reject"],
            silenced=[b.domain for b in blocks if b.severity == "silence"],
        )
        self._version = version

    async def reload_if_changed(self) -> bool:
        async with self.db.read() as conn:
            version = await peers.version(conn)
        if version == self._version:
            return False
        await self.reload()
        log.info("peer policy reloaded peers=%d", len(self.policy.peers))
        return True

    # ----- the instance actors' link -----------------------------------------------------

    async def run_once(self) -> int:
        """Reload if changed, try to link every unlinked peer that is due, add the counts
        to the totals; returns how many links were attempted (for draining in tests)."""
        await self.reload_if_changed()
        async with self.db.read() as conn:
            ours = await accounts.get_instance_actor(conn)
            listed = await peers.all_peers(conn) if ours is not None else []
            due = [p for p in listed if await self._needs_link(conn, ours, p)]  # type: ignore[arg-type]
        for peer in due:
            await self._link(ours, peer)  # type: ignore[arg-type]
        await self.flush_counts()
        return len(due)

    async def _needs_link(self, conn: Connection, ours: AccountRecord, peer: PeerRecord) -> bool:
        if not self.policy.is_peer(peer.domain):
            return False
        if peer.actor_uri is not None:
            theirs = await accounts.get_by_uri(conn, peer.actor_uri)
            if theirs is not None and await follows.get(conn, ours.id, theirs.id) is not None:
                return False
        last = peer.last_attempt_at
        return last is None or self.clock() - last >= self._link_wait(peer)

    def _link_wait(self, peer: PeerRecord) -> timedelta:
        failures = self._link_failures.get(peer.domain, 0) if peer.last_error else 0
        if failures == 0:
            return LINK_RETRY
        return min(LINK_RETRY, LINK_FIRST_RETRY * 2 ** (failures - 1))

    async def _link(self, ours: AccountRecord, peer: PeerRecord) -> None:
        """Find the peer's instance actor (WebFinger `domain@domain`, as Mastodon and
        Watercooler answer it) and follow it."""
        now = self.clock()
        theirs = await self.actors.resolve_handle(peer.domain, peer.domain)
        error = None
        if theirs is None:
            error = "instance actor not found"
        elif domain_of(theirs.uri) != peer.domain:
            error = f"instance actor {theirs.uri} is not on {peer.domain}"
            theirs = None
        elif theirs.actor_type not in ("Application", "Service"):
            error = f"{theirs.uri} is not an instance actor"
            theirs = None
        if theirs is not None:
            try:
                await self.publisher.follow(ours, theirs)
            except PublishError as failed:
                error = str(failed)
        async with self.db.transaction() as conn:
            await peers.record_attempt(
                conn, peer.domain, now=now, actor_uri=theirs.uri if theirs else None, error=error
            )
        if theirs is None or error:
            self._link_failures[peer.domain] = self._link_failures.get(peer.domain, 0) + 1
            log.warning("peer link failed domain=%s error=%s", peer.domain, error)
        else:
            self._link_failures.pop(peer.domain, None)
            log.info("peer link requested domain=%s actor=%s", peer.domain, theirs.uri)

    # ----- counters ----------------------------------------------------------------------

    async def flush_counts(self) -> None:
        """Add what the edges refused since the last flush to the stored totals."""
        refused = self.policy.take_refusals()
        failed = dict(self.intake.signature_failures)
        self.intake.signature_failures.clear()
        counts = [(d, "refused", n) for d, n in refused.items()]
        counts += [(d, "signature_failed", n) for d, n in failed.items()]
        if not counts:
            return
        async with self.db.transaction() as conn:
            await peers.add_counts(conn, counts, now=self.clock())

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self._every_poll(stop, self.run_once)

    async def watch(self, stop: asyncio.Event) -> None:
        """Only follow the stored lists and add the counts, without linking: for a server
        whose workers run in another process (`watercooler worker` links peers)."""

        async def follow() -> None:
            await self.reload_if_changed()
            await self.flush_counts()

        await self._every_poll(stop, follow)

    async def _every_poll(
        self, stop: asyncio.Event, cycle: Callable[[], Awaitable[object]]
    ) -> None:
        while not stop.is_set():
            try:
                await cycle()
            except Exception:
                log.exception("peering cycle failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass
        await self.flush_counts()
