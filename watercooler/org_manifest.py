"""Adopting the org manifest: verify it, adopt the newest, make its divisions peers, pass it on.

A manifest can be offered four ways: `watercooler org apply` (source `cli`), the `[org]
manifest` file at start (`config`), a peer's instance actor (its actor URI), and — only to
answer — our own. Whatever the way, the same rules hold (`offer_manifest`):

- refused, and noted for admins: a wrong shape, no org key configured, a signature that is
  not the org key's, an older serial, an equal serial with other content (someone holds the
  org key and is signing conflicting lists: IT must look);
- ignored: the serial we hold, with the same content (how gossip ends);
- adopted: a newer serial. In one transaction its divisions minus this instance become the
  peers with source `manifest`, and a division it no longer lists stops being a peer — its
  instance actors' follows go and its queued deliveries are cancelled, as `peer remove`
  does — unless the config or an admin lists it too.

An adopted manifest is then passed on in an `Update` from our instance actor to every peer
instance actor that follows ours (`relay_pending`; the stored `relayed_at` makes this survive
a crash and lets the server pass on what the CLI adopted), and to each new peer when its
instance actor starts following ours. A peer that offers an older serial gets ours back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.manifest import (
    Manifest,
    ManifestError,
    manifest_update,
    parse_manifest,
    parse_public_key,
    read_manifest,
    verify_manifest,
)
from federation.policy import domain_of
from federation.uris import Uris
from outbox.publish import Publisher
from store import accounts, deliveries, follows, peers
from store import org_manifest as stored
from store.db import Connection, Database
from store.records import AccountRecord
from watercooler import audit_events
from watercooler.config import Config
from watercooler.peering import Peering, unlink_peer

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often the server looks for a manifest adopted by another process, to pass it on."""
MAX_RECIPIENTS = 10_000

Status = Literal["adopted", "current", "refused"]
REFUSAL_REASONS = ("malformed", "no_key", "unknown_key", "bad_signature", "stale", "conflict")


@dataclass(frozen=True)
class Outcome:
    """What became of an offered manifest. `reason` (refused only): one of
    `REFUSAL_REASONS`; `held`: the serial in force afterwards."""

    status: Status
    serial: int | None
    held: int | None
    reason: str | None = None
    detail: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def org_keys(config: Config) -> list[ed25519.Ed25519PublicKey]:
    """The configured org keys (checked when the config was loaded)."""
    return [parse_public_key(text) for text in config.org.public_keys]


def _claimed_serial(document: object) -> int | None:
    serial = document.get("serial") if isinstance(document, dict) else None
    return serial if isinstance(serial, int) and not isinstance(serial, bool) else None


async def _refuse(
    db: Database, *, source: str, serial: int | None, reason: str, detail: str, now: datetime
) -> None:
    async with db.transaction() as conn:
        await stored.refuse(
            conn, source=source, serial=serial, reason=reason, detail=detail, now=now
        )


async def offer_manifest(
    db: Database,
    document: object,
    *,
    keys: Sequence[ed25519.Ed25519PublicKey],
    own_domain: str,
    source: str,
    now: datetime,
    note_stale: bool = True,
) -> Outcome:
    """Verify `document` and adopt it if it is newer than the manifest in force (see the
    module docstring). `note_stale=False` keeps an older serial out of the refusals (the
    config file at start, which gossip has overtaken). Never raises for a bad manifest."""
    try:
        manifest = verify_manifest(document, keys)
    except ManifestError as error:
        serial = _claimed_serial(document)
        log.warning(
            "org manifest refused source=%s serial=%s reason=%s detail=%s",
            source,
            serial,
            error.reason,
            error.detail,
        )
        await _refuse(
            db, source=source, serial=serial, reason=error.reason, detail=error.detail, now=now
        )
        return Outcome("refused", serial, None, error.reason, error.detail)
    async with db.transaction() as conn:
        held = await stored.current(conn)
        verdict = _compare(manifest, held)
        if verdict is None:
            added, removed = await _adopt(conn, manifest, own_domain, source, now)
            await audit_events.manifest_adopted(
                conn, now, source=source, serial=manifest.serial, added=added, removed=removed
            )
        elif verdict[0] == "conflict" or (verdict[0] == "stale" and note_stale):
            await stored.refuse(
                conn,
                source=source,
                serial=manifest.serial,
                reason=verdict[0],
                detail=verdict[1],
                now=now,
            )
    if verdict is None:
        if own_domain not in manifest.domains:
            log.warning("org manifest does not list this instance domain=%s", own_domain)
        log.info(
            "org manifest adopted source=%s serial=%d added=%s removed=%s",
            source,
            manifest.serial,
            added,
            removed,
        )
        return Outcome(
            "adopted", manifest.serial, manifest.serial, added=tuple(added), removed=tuple(removed)
        )
    reason, detail = verdict
    held_serial = held.serial if held else None
    if reason == "current" or (reason == "stale" and not note_stale):
        log.info(
            "org manifest not newer source=%s serial=%d held=%s",
            source,
            manifest.serial,
            held_serial,
        )
        if reason == "current":
            return Outcome("current", manifest.serial, held_serial)
    else:
        log.warning(
            "org manifest refused source=%s serial=%d reason=%s detail=%s",
            source,
            manifest.serial,
            reason,
            detail,
        )
    return Outcome("refused", manifest.serial, held_serial, reason, detail)


def _compare(manifest: Manifest, held: stored.AdoptedManifest | None) -> tuple[str, str] | None:
    """None if `manifest` is newer than `held`; else ("current" | "stale" | "conflict", why)."""
    if held is None or manifest.serial > held.serial:
        return None
    if manifest.serial < held.serial:
        return "stale", f"serial {manifest.serial} is older than {held.serial}, in force"
    if manifest.digest == held.digest:
        return "current", "already in force"
    return "conflict", (
        f"serial {manifest.serial} is in force with other content: two different manifests"
        " were signed with the same serial"
    )


async def _adopt(
    conn: Connection, manifest: Manifest, own_domain: str, source: str, now: datetime
) -> tuple[list[str], list[str]]:
    """Store the manifest and make its divisions the `manifest` peers; divisions dropped lose
    their link and their queued deliveries, as with `peer remove`."""
    await stored.adopt(
        conn,
        serial=manifest.serial,
        body=json.dumps(manifest.document, ensure_ascii=False),
        digest=manifest.digest,
        source=source,
        now=now,
    )
    before = {p.domain: p for p in await peers.all_peers(conn) if p.source == "manifest"}
    wanted = {d.domain: d.name for d in manifest.divisions if d.domain != own_domain}
    added, removed = await peers.replace_source(conn, "manifest", wanted, now=now)
    for domain in removed:
        await unlink_peer(conn, before[domain])
        await deliveries.cancel_for_host(conn, domain, now, reason="dropped from the org manifest")
    return added, removed


@dataclass(frozen=True)
class OrgState:
    """The manifest in force and the latest refusals, for `org status` and the admin API."""

    adopted: stored.AdoptedManifest | None
    manifest: Manifest | None
    refusals: list[stored.ManifestRefusal]


async def org_state(db: Database, *, refusals: int = 20) -> OrgState:
    async with db.read() as conn:
        adopted = await stored.current(conn)
        refused = await stored.refusals(conn, limit=refusals)
    return OrgState(adopted, _content(adopted.body) if adopted else None, refused)


def _content(body: str) -> Manifest | None:
    """The stored manifest's content (its signature was checked when it was adopted)."""
    try:
        return parse_manifest(json.loads(body))
    except (ManifestError, ValueError):
        return None


class OrgManifests:
    """The running server's side: offers from peers and at start, passing manifests on."""

    def __init__(
        self,
        db: Database,
        *,
        config: Config,
        uris: Uris,
        clock: Callable[[], datetime],
        publisher: Publisher,
        peering: Peering,
    ) -> None:
        self.db = db
        self.keys = org_keys(config)
        self.own_domain = config.instance.domain
        self.manifest_file = config.org.manifest
        self.uris = uris
        self.clock = clock
        self.publisher = publisher
        self.peering = peering
        self._relaying = asyncio.Lock()

    async def start(self) -> None:
        """Offer the `[org] manifest` file, then pass on what is adopted but not yet sent."""
        if self.manifest_file is not None:
            await self._offer_file(self.manifest_file)
        await self.relay_pending()

    async def _offer_file(self, path: str) -> None:
        """A file that cannot be read or is not a manifest is noted, and the server runs on
        with the peers it has."""
        try:
            document = read_manifest(await asyncio.to_thread(Path(path).read_bytes))
        except OSError as error:
            log.error("org manifest file unreadable path=%s error=%s", path, error)
            return
        except ManifestError as error:
            log.warning("org manifest refused source=config path=%s detail=%s", path, error)
            await _refuse(
                self.db,
                source="config",
                serial=None,
                reason=error.reason,
                detail=error.detail,
                now=self.clock(),
            )
            return
        await self.offer(document, source="config", note_stale=False)

    async def offer(self, document: object, *, source: str, note_stale: bool = True) -> Outcome:
        """Verify and maybe adopt; an adopted manifest changes the policy at once and is
        passed on."""
        outcome = await offer_manifest(
            self.db,
            document,
            keys=self.keys,
            own_domain=self.own_domain,
            source=source,
            now=self.clock(),
            note_stale=note_stale,
        )
        if outcome.status == "adopted":
            await self.peering.reload()
            await self.relay_pending()
        return outcome

    async def receive(self, document: dict[str, Any], sender: str) -> None:
        """A manifest delivered by a peer's instance actor (`sender`, checked by the inbox).
        A peer behind us gets ours back, so it catches up even if it missed a relay."""
        outcome = await self.offer(document, source=sender)
        if outcome.reason == "stale":
            async with self.db.read() as conn:
                theirs = await accounts.get_by_uri(conn, sender)
            if theirs is not None:
                await self.send_to(theirs)

    async def send_to(self, peer: AccountRecord) -> None:
        """Send the manifest in force to one peer's instance actor (a new link, or a peer
        that is behind). Nothing if we hold none."""
        async with self.db.read() as conn:
            held = await stored.current(conn)
        inbox = peer.shared_inbox_url or peer.inbox_url
        if held is None or inbox is None:
            return
        await self.publisher.send_as_instance(self._update(held, [peer.uri]), inboxes=[inbox])
        log.info("org manifest sent serial=%d to=%s", held.serial, peer.uri)

    async def relay_pending(self) -> int:
        """Pass the manifest in force on to every peer instance actor following ours, if it
        was not yet (adopted here, by the CLI, or before a crash); 1 if it was sent now.
        The peer it came from is skipped: it holds it."""
        async with self._relaying:
            async with self.db.read() as conn:
                held = await stored.current(conn)
                if held is None or held.relayed_at is not None:
                    return 0
                ours = await accounts.get_instance_actor(conn)
                if ours is None:
                    return 0
                inboxes = await follows.remote_follower_inboxes(conn, ours.id)
                actors = await follows.page_of_uris(
                    conn, ours.id, followers=True, offset=0, limit=MAX_RECIPIENTS
                )
            from_peer = held.source.startswith(("https://", "http://"))
            came_from = domain_of(held.source) if from_peer else None
            inboxes = [i for i in inboxes if domain_of(i) != came_from]
            actors = [a for a in actors if domain_of(a) != came_from]
            if inboxes:
                await self.publisher.send_as_instance(self._update(held, actors), inboxes=inboxes)
            async with self.db.transaction() as conn:
                await stored.mark_relayed(conn, held.serial, self.clock())
        log.info("org manifest passed on serial=%d peers=%d", held.serial, len(inboxes))
        return 1

    def _update(self, held: stored.AdoptedManifest, to: list[str]) -> dict[str, Any]:
        return manifest_update(
            id=f"{self.uris.instance_actor}#org-manifest/{held.serial}/{self.db.new_id()}",
            actor=self.uris.instance_actor,
            manifest=json.loads(held.body),
            to=to,
            published=self.clock(),
        )

    async def run_once(self) -> int:
        return await self.relay_pending()

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.relay_pending()
            except Exception:
                log.exception("org manifest relay failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass
