"""Live instances: real `watercooler serve` processes on loopback, real HTTP, real signatures."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from federation.errors import FetchError
from federation.fetch import Fetcher
from federation.policy import PeerPolicy, PolicyRejected
from tests.live import LiveInstance
from watercooler.config import load_config
from watercooler.services import start_services

AP = {"Accept": "application/activity+json"}


@pytest.fixture
def network(tmp_path: Path) -> Iterator[dict[str, LiveInstance]]:
    """sales.test and eng.test peer each other and require signed fetches; hr.test is not a
    peer of either."""
    instances = {d: LiveInstance(d, tmp_path / d) for d in ("sales.test", "eng.test", "hr.test")}
    resolve = {d: i.address for d, i in instances.items()}
    instances["sales.test"].write_config(peers=["eng.test"], resolve=resolve, authorized_fetch=True)
    instances["eng.test"].write_config(peers=["sales.test"], resolve=resolve, authorized_fetch=True)
    instances["hr.test"].write_config(peers=[], resolve=resolve)
    try:
        for live in instances.values():
            live.cli("user", "add", "alice" if live.domain == "sales.test" else "bob")
            live.start()
        yield instances
    finally:
        for live in instances.values():
            live.stop()


def test_discovery_over_real_http(network: dict[str, LiveInstance]) -> None:
    sales = network["sales.test"]
    with httpx.Client(base_url=sales.url, headers={"Host": "sales.test"}, timeout=10) as client:
        jrd = client.get("/.well-known/webfinger", params={"resource": "acct:alice@sales.test"})
        assert jrd.status_code == 200
        assert jrd.json()["links"][1]["href"] == "http://sales.test/users/alice"
        nodeinfo = client.get("/nodeinfo/2.1").json()
        assert nodeinfo["software"]["name"] == "watercooler"
        assert nodeinfo["usage"]["users"]["total"] == 1
        instance_actor = client.get("/actor", headers=AP)
        assert instance_actor.status_code == 200
        assert instance_actor.json()["type"] == "Application"
        # authorized_fetch: unsigned, only the minimal actor that carries the key.
        unsigned = client.get("/users/alice", headers=AP).json()
        assert set(unsigned) <= {"@context", "id", "type", "preferredUsername", "inbox",
                                 "outbox", "publicKey", "endpoints", "url"}  # fmt: skip
        assert unsigned["publicKey"]["id"] == "http://sales.test/users/alice#main-key"
        assert "name" not in unsigned and "summary" not in unsigned
        # A signature that does not verify is refused.
        forged = client.get("/users/alice", headers={**AP, "Signature": 'keyId="x",signature="y"'})
        assert forged.status_code == 401


async def _fetch_as(live: LiveInstance, url: str) -> dict[str, object]:
    """Fetch `url` the way `live` fetches: its own services, its instance key, signed GET."""
    services = await start_services(load_config(live.config_path))
    try:
        return await services.fetcher.fetch_json(url)
    finally:
        await services.aclose()


async def test_a_peer_fetches_with_a_signed_get(network: dict[str, LiveInstance]) -> None:
    # eng.test signs with its instance actor's key; sales.test fetches that key from
    # eng.test's /actor over real HTTP, verifies, and serves alice.
    document = await _fetch_as(network["eng.test"], "http://sales.test/users/alice")
    assert document["id"] == "http://sales.test/users/alice"
    assert document["preferredUsername"] == "alice"
    assert "publicKeyPem" in document["publicKey"]  # type: ignore[operator]
    # sales.test stored eng.test's instance actor and key, so the next fetch needs no look-up.
    with sqlite3.connect(network["sales.test"].folder / "db.sqlite3") as conn:
        stored = conn.execute(
            "SELECT a.uri, a.domain, k.key_uri FROM keys k JOIN accounts a ON a.id = k.account_id"
            " WHERE a.domain IS NOT NULL"
        ).fetchall()
    assert stored == [("http://eng.test/actor", "eng.test", "http://eng.test/actor#main-key")]


async def test_a_signed_get_from_a_non_peer_is_refused(network: dict[str, LiveInstance]) -> None:
    config = load_config(network["hr.test"].config_path)
    services = await start_services(config)
    try:
        # hr.test's own policy stops it first: sales.test is not its peer.
        with pytest.raises(PolicyRejected):
            await services.fetcher.fetch_json("http://sales.test/users/alice")
    finally:
        await services.aclose()
    # Signed by hr.test and sent anyway (as a misconfigured or hostile server would): 403.
    services = await start_services(config)
    try:
        open_fetcher = Fetcher(
            services.http,
            policy=PeerPolicy(mode="open"),
            allow_http=True,
            auth=services.fetcher.auth,
        )
        with pytest.raises(FetchError, match="403"):
            await open_fetcher.fetch_json("http://sales.test/users/alice")
    finally:
        await services.aclose()
