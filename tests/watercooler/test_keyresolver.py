"""Resolving a signer's key: fetched once from its actor, checked, sanitised, then cached.

The peer here is a mock because these tests are about a peer misbehaving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from federation.keys import generate_rsa_keypair
from store import accounts, keys
from tests.conftest import MakeConfig
from watercooler.services import Services, start_services

PEER_KEY = generate_rsa_keypair()
OTHER_KEY = generate_rsa_keypair()
KEY_ID = "http://b.test/users/bob#main-key"
AP = "application/activity+json"


def bob(**changes: Any) -> dict[str, Any]:
    document = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": "http://b.test/users/bob",
        "type": "Person",
        "preferredUsername": "bob",
        "name": "<b>Bob</b> <script>alert(1)</script>",
        "summary": '<p>Hi<img src=x onerror="alert(1)"></p>',
        "inbox": "http://b.test/users/bob/inbox",
        "publicKey": {
            "id": KEY_ID,
            "owner": "http://b.test/users/bob",
            "publicKeyPem": PEER_KEY.public_pem,
        },
    }
    document.update(changes)
    return document


Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
async def peer(make_config: MakeConfig) -> AsyncIterator[Callable[[Handler], Services]]:
    """Services of a.test (peer b.test) whose network is the handler a test installs."""
    routes: list[Handler] = []
    calls: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return routes[-1](request)

    services = await start_services(
        make_config("a.test", peers=("b.test",)), transport=httpx.MockTransport(transport)
    )
    services.calls = calls  # type: ignore[attr-defined]

    def install(handler: Handler) -> Services:
        routes.append(handler)
        return services

    try:
        yield install
    finally:
        await services.aclose()


def serve(document: dict[str, Any], status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=document, headers={"Content-Type": AP})


async def test_first_contact_fetches_signed_and_stores_sanitised(peer) -> None:  # type: ignore[no-untyped-def]
    services = peer(serve(bob()))
    resolved = await services.keys.resolve_key(KEY_ID)
    assert resolved is not None and resolved.owner == "http://b.test/users/bob"
    (request,) = services.calls
    assert request.url == "http://b.test/users/bob"  # fragment dropped
    assert 'keyId="http://a.test/actor#main-key"' in request.headers["signature"]
    async with services.db.read() as conn:
        account = await accounts.get_by_uri(conn, "http://b.test/users/bob")
        key = await keys.get_by_uri(conn, KEY_ID)
    assert account is not None and account.domain == "b.test"
    assert account.display_name == "Bob" and "<script" not in account.display_name
    assert account.note == "<p>Hi</p>"
    assert key is not None and key.private_key_pem is None
    # Cached: no second fetch.
    assert await services.keys.resolve_key(KEY_ID) is not None
    assert len(services.calls) == 1


async def test_refresh_replaces_a_rotated_key(peer) -> None:  # type: ignore[no-untyped-def]
    services = peer(serve(bob()))
    await services.keys.resolve_key(KEY_ID)
    rotated = bob(
        publicKey={"id": KEY_ID, "owner": bob()["id"], "publicKeyPem": OTHER_KEY.public_pem}
    )
    peer(serve(rotated))
    assert await services.keys.resolve_key(KEY_ID, refresh=True) is not None
    async with services.db.read() as conn:
        key = await keys.get_by_uri(conn, KEY_ID)
    assert key is not None and key.public_key_pem == OTHER_KEY.public_pem


@pytest.mark.parametrize(
    "handler",
    [
        # The key is not in the actor's document.
        serve(
            bob(
                publicKey={
                    "id": "http://b.test/users/bob#other",
                    "owner": bob()["id"],
                    "publicKeyPem": PEER_KEY.public_pem,
                }
            )
        ),
        # The key claims another owner.
        serve(
            bob(
                publicKey={
                    "id": KEY_ID,
                    "owner": "http://b.test/users/eve",
                    "publicKeyPem": PEER_KEY.public_pem,
                }
            )
        ),
        # The document speaks for another host.
        serve(bob(id="http://c.test/users/bob")),
        # Not an actor; garbage key.
        serve({"id": "http://b.test/users/bob", "type": "Note"}),
        serve(bob(publicKey={"id": KEY_ID, "owner": bob()["id"], "publicKeyPem": "not a key"})),
        # Errors, wrong media type, redirects elsewhere, bodies over the limit.
        serve(bob(), status=410),
        serve(bob(), status=500),
        lambda r: httpx.Response(
            200, text=json.dumps(bob()), headers={"Content-Type": "text/html"}
        ),
        lambda r: httpx.Response(302, headers={"Location": "http://c.test/users/bob"}),
        lambda r: httpx.Response(
            200, content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers={"Content-Type": AP}
        ),
        lambda r: httpx.Response(200, content=b"[1, 2", headers={"Content-Type": AP}),
    ],
)
async def test_unusable_keys_resolve_to_nothing_and_store_nothing(peer, handler: Handler) -> None:  # type: ignore[no-untyped-def]
    services = peer(handler)
    assert await services.keys.resolve_key(KEY_ID) is None
    async with services.db.read() as conn:
        assert await keys.get_by_uri(conn, KEY_ID) is None
        assert await accounts.get_by_uri(conn, "http://b.test/users/bob") is None


async def test_keys_of_non_peers_are_never_fetched(peer) -> None:  # type: ignore[no-untyped-def]
    services = peer(serve(bob()))
    assert await services.keys.resolve_key("http://c.test/users/bob#main-key") is None
    assert services.calls == []


async def test_same_host_redirect_is_followed(peer) -> None:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/users/bob":
            return httpx.Response(301, headers={"Location": "/users/bob.json"})
        return serve(bob())(request)

    services = peer(handler)
    assert await services.keys.resolve_key(KEY_ID) is not None
    assert [str(r.url) for r in services.calls] == [
        "http://b.test/users/bob",
        "http://b.test/users/bob.json",
    ]


async def test_a_burst_from_an_unknown_signer_fetches_its_key_once(peer) -> None:  # type: ignore[no-untyped-def]
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)  # the peer answers slowly: requests pile up meanwhile
        return serve(bob())(request)

    services = peer(slow)
    resolved = await asyncio.gather(*(services.keys.resolve_key(KEY_ID) for _ in range(100)))
    assert all(r is not None and r.owner == "http://b.test/users/bob" for r in resolved)
    assert len(services.calls) == 1


async def test_a_waiter_that_goes_away_does_not_cancel_the_fetch_for_the_others(peer) -> None:  # type: ignore[no-untyped-def]
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return serve(bob())(request)

    services = peer(slow)
    first = asyncio.create_task(services.keys.resolve_key(KEY_ID))
    second = asyncio.create_task(services.keys.resolve_key(KEY_ID))
    await asyncio.sleep(0.01)
    first.cancel()
    resolved = await second
    assert resolved is not None and len(services.calls) == 1
    with pytest.raises(asyncio.CancelledError):
        await first
