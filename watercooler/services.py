"""Process-wide resources, created in the app's lifespan and handed to endpoints.

Nothing here exists at import time, so several instances can live in one process (tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from federation.aiohttp_transport import PeerTransport, peer_trust
from federation.fetch import Fetcher
from federation.keys import load_private_key
from federation.policy import PeerPolicy
from federation.signatures import HttpSignatureAuth
from federation.transport import ResolvingTransport
from federation.uris import Uris
from inbox.backlog import Backlog
from inbox.context import InboxContext
from inbox.handlers import HANDLERS
from inbox.intake_keys import IntakeKeys
from inbox.intake_queue import IntakeQueue
from inbox.rate_limit import PeerRateLimit
from inbox.receive import Intake
from inbox.worker import InboxWorker
from outbox.delivery import DeliverySettings, DeliveryWorker
from outbox.groups import Communities
from outbox.moves import FollowerMover
from outbox.polls import PollCloser
from outbox.publish import Publisher
from outbox.remote import RemoteActors
from store import legal_holds
from store.db import Database
from store.memo import Memo
from store.migrate import migrate
from store.records import AccountRecord
from watercooler import __version__
from watercooler.accounts import ensure_instance_actor
from watercooler.config import Config
from watercooler.config_audit import record_config_changes
from watercooler.directory_sync import DirectorySync
from watercooler.follows_import import FollowImports
from watercooler.keyresolver import StoreKeyResolver
from watercooler.org_manifest import OrgManifests
from watercooler.peering import Peering
from watercooler.retention import RetentionJob
from watercooler.search_indexer import SearchIndexer, index_row
from watercooler.streaming.hub import StreamHub, StreamingSettings

Clock = Callable[[], datetime]
USER_AGENT = f"Watercooler/{__version__}"
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DOCUMENTS_KEPT = 1024


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Workers:
    """The queue workers of this process; `run_forever` in the server, `run_once` in tests."""

    inbox: InboxWorker
    delivery: DeliveryWorker
    search: SearchIndexer
    peering: Peering
    directory: DirectorySync
    org: OrgManifests
    polls: PollCloser
    retention: RetentionJob
    follow_imports: FollowImports
    moves: FollowerMover

    async def run_once(self) -> int:
        """Jobs handled. Peering goes first and is not counted (what it starts, deliveries,
        is), so link attempts to a peer that is down never keep a drain going."""
        await self.peering.run_once()
        handled = await self.inbox.run_once() + await self.delivery.run_once()
        handled += await self.search.run_once() + await self.org.run_once()
        handled += await self.polls.run_once() + await self.retention.run_once()
        handled += await self.follow_imports.run_once()
        handled += await self.moves.run_once()
        return handled + await self.directory.run_once()

    async def run_forever(self, stop: asyncio.Event) -> None:
        await asyncio.gather(
            self.peering.run_forever(stop),
            self.inbox.run_forever(stop),
            self.delivery.run_forever(stop),
            self.search.run_forever(stop),
            self.directory.run_forever(stop),
            self.org.run_forever(stop),
            self.polls.run_forever(stop),
            self.retention.run_forever(stop),
            self.follow_imports.run_forever(stop),
            self.moves.run_forever(stop),
        )


@dataclass
class Services:
    config: Config
    db: Database
    uris: Uris
    policy: PeerPolicy
    clock: Clock
    http: httpx.AsyncClient
    fetcher: Fetcher
    actors: RemoteActors
    keys: StoreKeyResolver
    publisher: Publisher
    workers: Workers
    streaming: StreamHub
    backlog: Backlog
    intake: Intake
    peering: Peering
    documents: Memo[tuple[str, int | str], bytes] = field(
        default_factory=lambda: Memo(DOCUMENTS_KEPT)
    )
    """Rendered actor and status documents (`watercooler.documents`)."""

    async def aclose(self) -> None:
        await self.streaming.aclose()
        await self.http.aclose()
        await self.db.close()


def make_policy(config: Config) -> PeerPolicy:
    """The policy as the config states it; `Peering.start` then loads the stored lists."""
    return PeerPolicy(mode=config.federation.mode, peers=config.peer_domains)


async def open_database(config: Config) -> Database:
    """Open the database file and bring its schema up to date."""
    db = Database(config.database.path)
    await db.open()
    try:
        await migrate(db.writer)
    except BaseException:
        await db.close()
        raise
    return db


async def start_services(
    config: Config,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    streaming: StreamingSettings | None = None,
) -> Services:
    """Open the database, make sure the instance actor exists, build the HTTP client.

    `transport` is for tests: an in-process or misbehaving peer instead of the network;
    `streaming` too (short heartbeats, small queues).
    """
    uris = Uris(config.instance.base_url)
    db = await open_database(config)
    try:
        await ensure_instance_actor(db, uris, config.instance.domain, clock())
        await record_config_changes(db, config, clock())  # policy edited in the file: audited
        instance_key = await StoreKeyResolver.signing_key(db, uris.instance_key_id)
    except BaseException:
        await db.close()
        raise
    policy = make_policy(config)
    # httpx over aiohttp: 2-3x the POSTs/s (bench S5); peers' certificates checked against
    # the public CAs, the system's store and [federation] ca_file
    inner = transport or PeerTransport(verify=peer_trust(config.federation.ca_file))
    http = httpx.AsyncClient(
        transport=ResolvingTransport(
            config.federation.resolve,
            inner,
            trusted_hosts=config.peer_domains,
            is_trusted=policy.is_peer,  # peers added at run time may be on private addresses
            guard=transport is None,  # an injected transport is a test's own network
        ),
        timeout=FETCH_TIMEOUT,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )
    auth = HttpSignatureAuth(
        key_id=uris.instance_key_id, private_key=load_private_key(instance_key), now=clock
    )
    fetcher = Fetcher(http, policy=policy, allow_http=config.federation.allow_http, auth=auth)
    actors = RemoteActors(db, fetcher, clock, allow_http=config.federation.allow_http)
    keys = StoreKeyResolver(db, actors)
    delivery = DeliveryWorker(
        db,
        http,
        policy=policy,
        clock=clock,
        settings=DeliverySettings(
            max_attempts=config.delivery.max_attempts,
            per_host_concurrency=config.delivery.per_host_concurrency,
            request_timeout=config.delivery.timeout,
            lease_seconds=3 * config.delivery.timeout,  # a kill -9 holds jobs this long
            base_delay=timedelta(seconds=config.delivery.retry_base),
            circuit_cooldown=timedelta(seconds=config.delivery.circuit_cooldown),
            allow_http=config.federation.allow_http,
        ),
    )
    hub = StreamHub(streaming)
    indexer = SearchIndexer(db)
    legal_holds.use_index_rows(index_row)  # a query hold matches posts not indexed yet

    def committed() -> None:
        """After a local action's commit: deliver its activities, stream and index its effects."""
        delivery.notify()
        hub.poke()
        indexer.notify()

    def handled() -> None:
        """After an inbound activity's effects are committed: stream and index them."""
        hub.poke()
        indexer.notify()

    async def on_manifest(document: dict[str, Any], sender: str) -> None:
        await org.receive(document, sender)  # `org` is made below, before any worker runs

    async def on_peer_linked(peer: AccountRecord) -> None:
        await org.send_to(peer)

    publisher = Publisher(db, uris, clock, actors, notify=committed, policy=policy)
    Communities(publisher).listen()  # local posts to a community are announced by it
    inbox = InboxWorker(
        InboxContext(
            db,
            uris,
            clock,
            actors,
            fetcher,
            publisher,
            on_manifest=on_manifest,
            on_peer_linked=on_peer_linked,
        ),
        handlers=HANDLERS,
        on_handled=handled,
    )
    intake = Intake(
        db=db,
        keys=IntakeKeys(keys),
        queue=IntakeQueue(db, clock),
        policy=policy,
        max_skew=timedelta(seconds=config.federation.signature_max_skew),
        rate=PeerRateLimit(config.federation.inbox_rate_limit, config.federation.inbox_rate_burst),
    )
    peering = Peering(
        db,
        policy,
        intake=intake,
        publisher=publisher,
        actors=actors,
        clock=clock,
        config_peers=config.peer_domains,
    )
    org = OrgManifests(
        db, config=config, uris=uris, clock=clock, publisher=publisher, peering=peering
    )
    try:
        await peering.start()
        await org.start()
    except BaseException:
        await http.aclose()
        await db.close()
        raise
    workers = Workers(
        inbox=inbox,
        delivery=delivery,
        search=indexer,
        peering=peering,
        directory=DirectorySync(db, policy, actors, fetcher, clock),
        org=org,
        polls=PollCloser(publisher),
        retention=RetentionJob(publisher, config.media.path),
        follow_imports=FollowImports(
            db,
            actors=actors,
            publisher=publisher,
            policy=policy,
            clock=clock,
            local_domain=config.instance.domain,
        ),
        moves=FollowerMover(publisher),
    )
    return Services(
        config,
        db,
        uris,
        policy,
        clock,
        http,
        fetcher,
        actors,
        keys,
        publisher,
        workers,
        hub,
        Backlog(db, config.federation.inbox_backlog_limit),
        intake,
        peering,
    )
