"""Division-only posts (`local_only`, GoToSocial's and Hometown's parameter; issue 6, point 3):
a post that never leaves its instance and that its local users see as its visibility says.

The rig holds a.test (in `open` mode), its peer b.test and x.test (open, not a peer). A
public post reaching both is the control; a local-only post, its edit, a boost and a reply
of it, a pin and its deletion reach neither, and neither may fetch it, a peer included.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection

from federation.fetch import ObjectNotFound
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.federation_core.test_org_visibility import Recorder, follow, record
from tests.rig import Rig
from tests.watercooler.test_streaming import (
    Message,
    about,
    barrier,
    post,
    served,
    socket,
    status_events,
    subscribe,
    until,
)
from watercooler.streaming.hub import StreamingSettings

AP = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [
        make_config("a.test", peers=("b.test",), mode="open"),
        make_config("b.test", peers=("a.test",)),
        make_config("x.test", mode="open"),
    ]
    async with Rig(configs) as rig:
        yield rig


async def followed_alice(rig: Rig) -> tuple[AccountRecord, Recorder, Recorder]:
    """alice on a.test, followed by bob (peer) and xavier (open non-peer); what b.test and
    x.test are sent from now on is recorded."""
    alice = await rig.user("a.test", "alice")
    await follow(rig, "b.test", await rig.user("b.test", "bob"), alice)
    await follow(rig, "x.test", await rig.user("x.test", "xavier"), alice)
    return alice, record(rig, "b.test"), record(rig, "x.test")


@pytest.mark.parametrize(
    "fields",
    [
        {"data": {"local_only": "true"}},
        {"data": {"local_only": "1"}},
        {"json": {"local_only": True}},
        {"data": {"visibility": "local"}},  # Akkoma's and Pleroma's spelling
    ],
)
async def test_the_parameter_is_taken_as_apps_send_it(
    rig: Rig, fields: dict[str, dict[str, object]]
) -> None:
    async with await rig.api_client("a.test", "alice") as api:
        kind, values = next(iter(fields.items()))
        posted = await api.post("/api/v1/statuses", **{kind: {"status": "Just us", **values}})
        assert posted.status_code == 200, posted.text
        assert posted.json()["local_only"] is True
        assert posted.json()["visibility"] == "public"
        plain = await api.post("/api/v1/statuses", data={"status": "Anyone", "local_only": "0"})
        assert plain.json()["local_only"] is False


async def test_local_only_posts_and_all_that_follows_them_never_leave(rig: Rig) -> None:
    alice, to_b, to_x = await followed_alice(rig)
    async with (
        await rig.api_client("a.test", "alice") as api,
        await rig.api_client("a.test", "carol") as carol,
    ):
        # The control: a public post reaches the peer and the open non-peer
        control = await api.post("/api/v1/statuses", data={"status": "Open house"})
        await rig.drain()
        uri = control.json()["uri"]
        assert to_b.mentions(uri) and to_x.mentions(uri)
        assert await rig.status("x.test", uri) is not None

        # A local-only post, edited, boosted and answered by a colleague, pinned, deleted
        posted = await api.post(
            "/api/v1/statuses",
            data={"status": "Division offsite plan", "visibility": "org", "local_only": "true"},
        )
        entity = posted.json()
        assert (entity["visibility"], entity["local_only"]) == ("org", True)
        status_id, uri = entity["id"], entity["uri"]
        edited = await api.put(f"/api/v1/statuses/{status_id}", data={"status": "Offsite v2"})
        assert edited.status_code == 200 and edited.json()["local_only"] is True
        boost = await carol.post(f"/api/v1/statuses/{status_id}/reblog")
        assert boost.status_code == 200, boost.text
        assert boost.json()["local_only"] is True
        reply = await carol.post(
            "/api/v1/statuses", data={"status": "Count me in", "in_reply_to_id": status_id}
        )
        assert reply.json()["local_only"] is True  # a reply inherits it
        assert (await api.post(f"/api/v1/statuses/{status_id}/pin")).status_code == 200
        assert (await carol.post(f"/api/v1/statuses/{status_id}/favourite")).status_code == 200
        await rig.drain()
        # Local users see them
        home = (await carol.get("/api/v1/timelines/public", params={"local": "true"})).json()
        assert {reply.json()["id"], status_id} <= {s["id"] for s in home}
        assert (await carol.get(f"/api/v1/statuses/{status_id}")).status_code == 200
        assert (await api.delete(f"/api/v1/statuses/{status_id}")).status_code == 200
        await rig.drain()

    # Then neither b.test nor x.test was sent anything about them
    for recorder in (to_b, to_x):
        assert recorder.mentions(uri) == []
        assert recorder.mentions("ffsite") == []
        assert recorder.mentions(reply.json()["uri"]) == []
        assert recorder.mentions(boost.json()["uri"]) == []
    for domain in ("b.test", "x.test"):
        assert await rig.status(domain, uri) is None
        assert await rig.status(domain, reply.json()["uri"]) is None
    _ = alice


async def test_local_only_posts_are_never_served_to_another_instance(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    a, b, x = (rig.services(d) for d in ("a.test", "b.test", "x.test"))
    public = await a.publisher.post(alice, "For everyone")
    local = await a.publisher.post(alice, "Division only", local_only=True)
    org_local = await a.publisher.post(
        alice, "Division only, org", visibility="org", local_only=True
    )
    await a.publisher.pin(alice, local)
    # A peer's signed fetch gets the public post, not the local-only ones; nor does x.test
    assert (await b.fetcher.fetch_json(public.uri))["id"] == public.uri
    for fetcher in (b.fetcher, x.fetcher):
        for status in (local, org_local):
            with pytest.raises(ObjectNotFound):
                await fetcher.fetch_json(status.uri)
            with pytest.raises(ObjectNotFound):
                await fetcher.fetch_json(f"{status.uri}/activity")
    async with rig.client("a.test") as anonymous:
        for status in (local, org_local):
            assert (await anonymous.get(status.uri, headers=AP)).status_code == 404
            assert (await anonymous.get(status.url or "", headers=HTML)).status_code == 404
            assert (await anonymous.get(f"/api/v1/statuses/{status.id}")).status_code == 404
        assert (await anonymous.get(public.uri, headers=AP)).status_code == 200
        outbox = (await anonymous.get("/users/alice/outbox?page=true", headers=AP)).json()
        assert [item["object"]["id"] for item in outbox["orderedItems"]] == [public.uri]
        featured = await anonymous.get("/users/alice/collections/featured", headers=AP)
        assert featured.json()["orderedItems"] == []  # pinned, yet not listed to peers
        nodeinfo = (await anonymous.get("/nodeinfo/2.1")).json()
        assert nodeinfo["usage"]["localPosts"] == 1


async def test_org_and_local_only_posts_stream_to_signed_in_local_users(
    make_config: MakeConfig,
) -> None:
    async with served(make_config, StreamingSettings()) as instance, instance.api("carol") as carol:
        async with socket(instance.address, instance.tokens["alice"]) as ws:
            await subscribe(ws, "public:local")
            org = await post(carol, "Org news", visibility="org")
            local = await post(carol, "Division news", local_only="true")
            seen = (await until_both(ws, org, local)) + await barrier(ws)
            assert status_events(seen) == {
                ("public:local", "update", org),
                ("public:local", "update", local),
            }
            entities = {json.loads(m["payload"])["id"]: json.loads(m["payload"]) for m in seen}
            assert entities[org]["visibility"] == "org"
            assert entities[local]["local_only"] is True
            deleted = await carol.delete(f"/api/v1/statuses/{org}")
            assert deleted.status_code == 200
            gone = await until(ws, about(org, "delete"))
            assert gone[-1]["stream"] == ["public:local"]


async def until_both(ws: ClientConnection, first: str, second: str) -> list[Message]:
    """Messages up to the updates of both statuses, whichever comes first."""
    seen = await until(ws, about(first))
    if not any(about(second)(m) for m in seen):
        seen += await until(ws, about(second))
    return seen
