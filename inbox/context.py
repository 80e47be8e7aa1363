"""What inbox handlers work with: the store, our URIs, the clock, remote actors, publishing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation.fetch import Fetcher
from federation.uris import Uris
from outbox.publish import Publisher
from outbox.remote import RemoteActors
from store.db import Database
from store.records import AccountRecord


async def _no_manifests(document: dict[str, Any], sender: str) -> None:
    """Without the app shell's org manifests (unit tests), a manifest is dropped."""


async def _nothing_to_tell(peer: AccountRecord) -> None:
    """Without the app shell's org manifests, a new link needs nothing more."""


@dataclass(frozen=True)
class InboxContext:
    db: Database
    uris: Uris
    clock: Callable[[], datetime]
    actors: RemoteActors
    fetcher: Fetcher
    publisher: Publisher
    on_manifest: Callable[[dict[str, Any], str], Awaitable[None]] = _no_manifests
    """An org manifest a peer's instance actor (`sender`) delivered: the app shell verifies
    it and adopts it if newer (`watercooler.org_manifest`)."""
    on_peer_linked: Callable[[AccountRecord], Awaitable[None]] = _nothing_to_tell
    """A peer's instance actor now follows ours: the app shell sends it our org manifest."""
