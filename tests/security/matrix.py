"""The world the visibility matrix (test_visibility_matrix.py) reads: three in-process
instances, one author, a viewer of each kind, one post of each visibility, and the ways each
viewer reads (an API client, a signed fetch, a web session).

a.test is the author's division, in `open` mode so that peer policy does not hide anything
the visibility rule must hide itself; b.test is its peer; x.test is not a peer of anyone
(open mode, so it may fetch what a.test serves to anyone).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from federation.keys import load_private_key
from federation.signatures import sign_request
from outbox.polls import PollDraft
from outbox.publish import PublishError
from store.records import AccountRecord, StatusRecord
from tests.rig import Rig
from tests.web.signing import sign_in
from watercooler.config import (
    Config,
    DatabaseConfig,
    FederationConfig,
    InstanceConfig,
    MediaConfig,
    PeerConfig,
)
from watercooler.keyresolver import StoreKeyResolver
from watercooler.streaming.hub import StreamClient, StreamingSettings
from watercooler.streaming.streams import StreamKey

AP = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}
PASSWORD = "password123"

ORIGIN, PEER, OUTSIDER = "a.test", "b.test", "x.test"

# viewer -> (instance, user name); the anonymous reader has no account
ACCOUNTS = {
    "author": (ORIGIN, "alice"),
    "follower": (ORIGIN, "fiona"),
    "mentioned": (ORIGIN, "mel"),
    "other_local": (ORIGIN, "olga"),
    "follower_peer": (PEER, "bob"),
    "mentioned_peer": (PEER, "pete"),
    "peer_user": (PEER, "pat"),
    "non_peer": (OUTSIDER, "xavier"),
}
VIEWERS = (*ACCOUNTS, "anonymous")
REMOTE = ("follower_peer", "mentioned_peer", "peer_user", "non_peer")
ROWS = ("public", "unlisted", "org", "private", "direct", "local_only")


def configs(folder: Path) -> list[Config]:
    def make(domain: str, peers: tuple[str, ...], mode: str) -> Config:
        base = folder / domain
        return Config(
            instance=InstanceConfig(domain=domain, base_url=f"http://{domain}", name=domain),
            database=DatabaseConfig(path=str(base / "db.sqlite3")),
            media=MediaConfig(path=str(base / "media")),
            federation=FederationConfig(allow_http=True, mode=mode),
            peers=tuple(PeerConfig(domain=p) for p in peers),
        )

    return [
        make(ORIGIN, (PEER,), "open"),
        make(PEER, (ORIGIN,), "allowlist"),
        make(OUTSIDER, (), "open"),
    ]


def marker(batch: str, row: str) -> str:
    """A word found only in the text of one post (searchable, visible in any page)."""
    return f"vm{batch}{row.replace('_', '')}"


@dataclass
class World:
    rig: Rig
    accounts: dict[str, AccountRecord] = field(default_factory=dict)
    api: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    """Each viewer's client for its own instance's API (anonymous: no token, on a.test)."""
    posts: dict[str, StatusRecord] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)

    def domain(self, viewer: str) -> str:
        return ACCOUNTS[viewer][0] if viewer in ACCOUNTS else ORIGIN

    async def copy(self, viewer: str, status: StatusRecord) -> StatusRecord | None:
        """The viewer's instance's record of `status` (the post itself on a.test)."""
        return await self.rig.status(self.domain(viewer), status.uri)

    async def publish(self, batch: str) -> dict[str, StatusRecord]:
        """alice posts one status of each row, each mentioning mel and pete; each is a
        question (issue 9) with a poll, so the open-questions list and the polls API are
        read paths of the matrix too."""
        publisher = self.rig.services(ORIGIN).publisher
        alice, made = self.accounts["author"], {}
        for row in ROWS:
            text = f"{marker(batch, row)} for @mel and @pete@{PEER}"
            poll = PollDraft(options=("yes", "no"), expires_in=86_400)
            if row == "local_only":
                made[row] = await publisher.post(
                    alice, text, local_only=True, question=True, poll=poll
                )
            else:
                made[row] = await publisher.post(
                    alice, text, visibility=row, question=True, poll=poll
                )
        return made

    async def web(self, viewer: str) -> httpx.AsyncClient:
        """A browser session of the viewer on its instance (anonymous: none, on a.test)."""
        client = self.rig.client(self.domain(viewer))
        if viewer in ACCOUNTS:
            signed = await sign_in(client, ACCOUNTS[viewer][1], PASSWORD)
            assert signed.status_code in (302, 303), signed.text
        return client

    async def signed_get(self, viewer: str, url: str) -> httpx.Response:
        """GET `url` as the viewer's server fetches it: signed with the viewer's key, as
        Mastodon signs a fetch on behalf of a user; unsigned for the anonymous reader."""
        headers = dict(AP)
        if viewer in ACCOUNTS:
            domain, name = ACCOUNTS[viewer]
            svc = self.rig.services(domain)
            key_id = svc.uris.key_id(name)
            pem = await StoreKeyResolver.signing_key(svc.db, key_id)
            headers |= sign_request(
                "GET",
                url,
                headers,
                b"",
                key_id=key_id,
                private_key=load_private_key(pem),
                now=datetime.now(UTC),
            )
        async with httpx.AsyncClient(transport=self.rig.router) as client:
            return await client.get(url, headers=headers)

    async def aclose(self) -> None:
        for client in self.api.values():
            await client.aclose()


async def build(rig: Rig) -> World:
    world = World(rig)
    for viewer, (domain, name) in ACCOUNTS.items():
        world.accounts[viewer] = await rig.user(domain, name)
        world.api[viewer] = await rig.api_client(domain, name)
    world.api["anonymous"] = rig.client(ORIGIN)
    alice = world.accounts["author"]
    for viewer in ("follower", "follower_peer"):
        svc = rig.services(world.domain(viewer))
        target = await svc.actors.get(alice.uri)
        assert target is not None
        await svc.publisher.follow(world.accounts[viewer], target)
    await rig.drain()
    world.posts = await world.publish("a")
    publisher = rig.services(ORIGIN).publisher
    for row, status in world.posts.items():
        try:
            await publisher.pin(alice, status)
            world.pinned.add(row)
        except PublishError:
            pass  # direct posts cannot be pinned (Mastodon's rule)
    await rig.drain()
    # Each remote viewer pastes each link in its app (search with resolve), as a reader
    # who was sent it would: what its instance may fetch, it then holds.
    for viewer in REMOTE:
        for status in world.posts.values():
            found = await world.api[viewer].get(
                "/api/v2/search", params={"q": status.uri, "resolve": "true", "type": "statuses"}
            )
            assert found.status_code == 200, found.text
    await rig.drain()
    return world


def stream_clients(world: World, settings: StreamingSettings) -> dict[str, StreamClient]:
    """A streaming connection per viewer with an account: `user` (with notifications),
    `public` (the organisation's) and `direct`, as Mastodon's web app subscribes."""
    clients = {}
    for viewer, account in world.accounts.items():
        client = StreamClient(account.id, token_hash="-", notifications=True, settings=settings)
        for name in ("user", "public", "direct"):
            assert client.subscribe(StreamKey(name, label=(name,)))
        clients[viewer] = client
    return clients


async def streamed_uris(client: StreamClient) -> set[str]:
    """The URIs of the statuses in every message queued for the client."""
    uris: set[str] = set()
    while (message := await client.next(within=0)) is not None:
        payload: Any = getattr(message, "payload", None)
        if payload is None:
            continue
        document = json.loads(payload) if payload.startswith("{") else {}
        for status in (
            document,
            document.get("reblog"),
            document.get("status"),  # a notification
            document.get("last_status"),  # a conversation
        ):
            if isinstance(status, dict) and "uri" in status:
                uris.add(status["uri"])
    return uris


def compare(
    path: str,
    expected: dict[str, set[str]],
    seen: dict[str, set[str]],
    viewers: Iterable[str] = VIEWERS,
) -> list[str]:
    """One line per cell where what a viewer was shown differs from the table."""
    problems = []
    for row in ROWS:
        for viewer in viewers:
            want, got = viewer in expected[row], viewer in seen.get(row, set())
            if want != got:
                verdict = "shown but must not be" if got else "hidden but must be shown"
                problems.append(f"{path}: {row} post, {viewer}: {verdict}")
    return problems
