"""What inbox handlers work with: the store, our URIs, the clock, remote actors, publishing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from federation.fetch import Fetcher
from federation.uris import Uris
from outbox.publish import Publisher
from outbox.remote import RemoteActors
from store.db import Database


@dataclass(frozen=True)
class InboxContext:
    db: Database
    uris: Uris
    clock: Callable[[], datetime]
    actors: RemoteActors
    fetcher: Fetcher
    publisher: Publisher
