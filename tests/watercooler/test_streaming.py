"""Streaming (Mastodon's streaming API) against real servers: WebSocket clients (the
`websockets` library) and server-sent events (httpx, and Mastodon.py's StreamListener).

Two divisions run as `watercooler serve` processes peered on loopback (sales.test and
eng.test); a post on eng.test reaches a follower's open stream on sales.test. Settings a
test must shorten (the heartbeat) are given to an instance served in process by uvicorn.
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from mastodon import Mastodon, StreamListener
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import MakeConfig
from tests.live import LiveInstance, free_port
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app
from watercooler.services import Services
from watercooler.streaming.hub import ClientClosed, StreamClient, StreamingSettings
from watercooler.streaming.hub import Message as HubMessage
from watercooler.streaming.streams import StreamKey

WAIT = 10.0
DELIVERY = "[delivery]\nretry_base = 0.5\ncircuit_cooldown = 1\ntimeout = 5\n"
BARRIER = {"error": "Unknown stream type", "status": 400}
SCOPES = "Access token does not have the required scopes"

Message = dict[str, Any]


# ----- WebSocket helpers ---------------------------------------------------------------------


@asynccontextmanager
async def socket(
    address: str,
    token: str | None,
    query: str = "",
    *,
    subprotocols: list[str] | None = None,
) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with connect(
        f"ws://{address}/api/v1/streaming{query}",
        additional_headers=headers,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        open_timeout=WAIT,
        close_timeout=2,
    ) as ws:
        yield ws


async def receive(ws: ClientConnection) -> Message:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))  # type: ignore[no-any-return]


async def until(ws: ClientConnection, wanted: Callable[[Message], bool]) -> list[Message]:
    """Messages up to and including the first one that is `wanted`."""
    seen = []
    async with asyncio.timeout(WAIT):
        while True:
            seen.append(await receive(ws))
            if wanted(seen[-1]):
                return seen


async def subscribe(ws: ClientConnection, stream: str, **params: str) -> list[Message]:
    """Subscribe, then wait until the server has taken the message in (it answers a bad
    subscription in order, so the answer to one proves the one before it was made); returns
    the messages that came meanwhile."""
    await ws.send(json.dumps({"type": "subscribe", "stream": stream, **params}))
    return await barrier(ws)


async def barrier(ws: ClientConnection) -> list[Message]:
    await ws.send(json.dumps({"type": "subscribe", "stream": "no-such-stream"}))
    seen = await until(ws, lambda message: message == BARRIER)
    return seen[:-1]


async def eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


def about(status_id: str, event: str = "update") -> Callable[[Message], bool]:
    def wanted(message: Message) -> bool:
        if message.get("event") != event:
            return False
        if event == "delete":
            return bool(message["payload"] == status_id)
        return bool(json.loads(message["payload"])["id"] == status_id)

    return wanted


def status_events(messages: list[Message]) -> set[tuple[str, str, str]]:
    """(stream, event, status id) of update and delete messages."""
    found = set()
    for message in messages:
        payload = message["payload"]
        status_id = payload if message["event"] == "delete" else json.loads(payload)["id"]
        found.add((":".join(message["stream"]), message["event"], status_id))
    return found


# ----- two divisions, live ---------------------------------------------------------------------


@dataclass
class Network:
    sales: LiveInstance
    eng: LiveInstance
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, name: str) -> httpx.AsyncClient:
        live = self.eng if name == "bob" else self.sales
        return httpx.AsyncClient(
            base_url=live.url,
            headers={"Authorization": f"Bearer {self.tokens[name]}"},
            timeout=WAIT,
        )


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """sales.test (alice, carol) and eng.test (bob), peered; shared by this module's tests,
    each of which sets up the follows it needs."""
    root = tmp_path_factory.mktemp("streaming")
    sales, eng = LiveInstance("sales.test", root / "sales"), LiveInstance("eng.test", root / "eng")
    resolve = {"sales.test": sales.address, "eng.test": eng.address}
    sales.write_config(peers=["eng.test"], resolve=resolve, extra=DELIVERY)
    eng.write_config(peers=["sales.test"], resolve=resolve, extra=DELIVERY)
    for live, names in ((sales, ("alice", "carol")), (eng, ("bob",))):
        for name in names:
            live.cli("user", "add", name)
    try:
        sales.start()
        eng.start()
        tokens = {name: sales.token(name) for name in ("alice", "carol")}
        tokens["bob"] = eng.token("bob")
        tokens["alice-write"] = sales.token("alice", "write")
        tokens["alice-notifications"] = sales.token("alice", "read:notifications")
        yield Network(sales, eng, tokens)
    finally:
        sales.stop()
        eng.stop()


async def resolve_account(api: httpx.AsyncClient, handle: str) -> str:
    answer = await api.get(
        "/api/v2/search", params={"q": handle, "resolve": "true", "type": "accounts"}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["accounts"][0]["id"])


async def follow(api: httpx.AsyncClient, handle: str) -> str:
    """Follow `handle` and wait until the follow is accepted; returns the account's id."""
    account_id = await resolve_account(api, handle)
    answer = await api.post(f"/api/v1/accounts/{account_id}/follow")
    assert answer.status_code == 200, answer.text
    async with asyncio.timeout(WAIT):
        while True:
            relation = await api.get("/api/v1/accounts/relationships", params={"id[]": account_id})
            if relation.json()[0]["following"]:
                return account_id
            await asyncio.sleep(0.05)


async def post(api: httpx.AsyncClient, text: str, **fields: str) -> str:
    answer = await api.post("/api/v1/statuses", data={"status": text, **fields})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def test_a_post_on_another_division_reaches_a_followers_open_stream(
    network: Network,
) -> None:
    async with network.api("alice") as alice, network.api("bob") as bob:
        await follow(alice, "@bob@eng.test")
        async with socket(network.sales.address, network.tokens["alice"], "?stream=user") as ws:
            await post(bob, "Release 2.0 is out")
            [message] = await until(ws, lambda m: m.get("event") == "update")
            assert set(message) == {"stream", "event", "payload"}
            assert message["stream"] == ["user"]
            assert isinstance(message["payload"], str)  # a JSON document cast to a string
            status = json.loads(message["payload"])
            assert "Release 2.0 is out" in status["content"]
            assert status["account"]["acct"] == "bob@eng.test"
            assert status["favourited"] is False  # rendered for alice

            # bob's id on eng.test is not alice's: delete carries the id sales.test gave it.
            bobs_posts = (await bob.get("/api/v1/timelines/home")).json()
            assert (await bob.delete(f"/api/v1/statuses/{bobs_posts[0]['id']}")).status_code == 200
            deleted = await until(ws, lambda m: m.get("event") == "delete")
            assert deleted[-1] == {"stream": ["user"], "event": "delete", "payload": status["id"]}


async def test_notifications_on_the_user_and_notification_streams(network: Network) -> None:
    async with network.api("alice") as alice, network.api("bob") as bob:
        await follow(bob, "@alice@sales.test")
        async with socket(network.sales.address, network.tokens["alice"]) as ws:
            await subscribe(ws, "user")
            await subscribe(ws, "user:notification")
            status_id = await post(alice, "Who wants the quarterly numbers?")
            assert status_events(await until(ws, about(status_id))) == {
                ("user", "update", status_id)
            }
            url = (await alice.get(f"/api/v1/statuses/{status_id}")).json()["uri"]
            found = await bob.get("/api/v2/search", params={"q": url, "resolve": "true"})
            remote_id = found.json()["statuses"][0]["id"]
            assert (await bob.post(f"/api/v1/statuses/{remote_id}/favourite")).status_code == 200

            first = await until(ws, lambda m: m.get("event") == "notification")
            second = await until(ws, lambda m: m.get("event") == "notification")
            assert {tuple(m["stream"]) for m in (first[-1], second[-1])} == {
                ("user",),
                ("user:notification",),
            }
            notification = json.loads(first[-1]["payload"])
            assert notification["type"] == "favourite"
            assert notification["account"]["acct"] == "bob@eng.test"
            assert notification["status"]["id"] == status_id
            assert first[-1]["payload"] == second[-1]["payload"]  # rendered once for alice

        # A token that may only read notifications gets them, and nothing else.
        token = network.tokens["alice-notifications"]
        async with socket(network.sales.address, token, "?stream=user") as ws:
            assert await barrier(ws) == [{"error": SCOPES, "status": 401}]
            assert await subscribe(ws, "user:notification") == []


async def test_public_local_and_remote_streams(network: Network) -> None:
    async with network.api("alice") as alice, network.api("bob") as bob:
        await follow(alice, "@bob@eng.test")
        async with socket(network.sales.address, network.tokens["alice"]) as ws:
            for stream in ("public", "public:local", "public:remote"):
                await subscribe(ws, stream)
            local_id = await post(alice, "Local news")
            seen = await until(ws, about(local_id))
            await post(bob, "Remote news")
            seen += await until(ws, lambda m: "Remote news" in m.get("payload", ""))
            remote_id = json.loads(seen[-1]["payload"])["id"]
            seen += await barrier(ws)
            assert status_events(seen) == {
                ("public", "update", local_id),
                ("public:local", "update", local_id),
                ("public", "update", remote_id),
                ("public:remote", "update", remote_id),
            }


async def test_followers_only_posts_stay_off_public_streams(network: Network) -> None:
    async with network.api("alice") as alice, network.api("bob") as bob:
        await follow(alice, "@bob@eng.test")
        async with (
            network.api("carol") as carol,
            socket(network.sales.address, network.tokens["alice"]) as ws,
        ):
            for stream in ("user", "public", "public:local", "public:remote"):
                await subscribe(ws, stream)
            # carol, whom alice does not follow, posts to her followers, then publicly.
            hidden = await post(carol, "Followers only", visibility="private")
            shown = await post(carol, "For everyone")
            seen = await until(ws, about(shown))
            # bob, whom alice follows, posts to his followers: on her home stream only.
            await post(bob, "Team only", visibility="private")
            seen += await until(ws, lambda m: "Team only" in m.get("payload", ""))
            bobs = json.loads(seen[-1]["payload"])
            assert bobs["visibility"] == "private"
            seen += await barrier(ws)
            assert status_events(seen) == {
                ("public", "update", shown),
                ("public:local", "update", shown),
                ("user", "update", bobs["id"]),
            }
            assert hidden not in {status_id for _, _, status_id in status_events(seen)}


async def test_a_blocked_accounts_posts_do_not_appear(network: Network) -> None:
    async with network.api("alice") as alice, network.api("carol") as carol:
        carol_id = await resolve_account(alice, "carol")
        assert (await alice.post(f"/api/v1/accounts/{carol_id}/block")).status_code == 200
        try:
            async with socket(network.sales.address, network.tokens["alice"]) as ws:
                await subscribe(ws, "public:local")
                await subscribe(ws, "hashtag", tag="lunch")
                blocked = await post(carol, "Lunch? #lunch")
                mentioning = await post(alice, "Ask @carol about #lunch")
                sentinel = await post(alice, "Nobody else #lunch")
                seen = await until(ws, about(sentinel))
                seen += await barrier(ws)
                ids = {status_id for _, _, status_id in status_events(seen)}
                assert sentinel in ids
                assert blocked not in ids
                assert mentioning not in ids  # it mentions someone alice blocks
        finally:
            await alice.post(f"/api/v1/accounts/{carol_id}/unblock")


async def test_event_streams_of_the_user(network: Network) -> None:
    async with (
        network.api("alice") as alice,
        network.api("bob") as bob,
        httpx.AsyncClient(base_url=network.sales.url, timeout=WAIT) as client,
    ):
        await follow(alice, "@bob@eng.test")
        token = network.tokens["alice"]
        ways = (
            {"headers": {"Authorization": f"Bearer {token}"}},
            {"params": {"access_token": token}},
        )
        for how in ways:
            async with client.stream("GET", "/api/v1/streaming/user", **how) as response:  # type: ignore[arg-type]
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                lines = response.aiter_lines()
                assert await asyncio.wait_for(anext(lines), WAIT) == ":)"
                await post(bob, f"Over event streams {how}")
                async with asyncio.timeout(WAIT):
                    line = await anext(lines)
                    while line.startswith(":"):
                        line = await anext(lines)
                    data = await anext(lines)
                    blank = await anext(lines)
                assert line == "event: update"
                assert data.startswith("data: {")
                assert blank == ""
                status = json.loads(data.removeprefix("data: "))
                assert status["content"].startswith("<p>Over event streams")
        assert token not in network.sales.log()  # a token in the URL stays out of the log


async def test_health_and_refusals(network: Network) -> None:
    base = network.sales.url
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as client:
        health = await client.get("/api/v1/streaming/health")
        assert (health.status_code, health.text) == (200, "OK")
        assert health.headers["content-type"].startswith("text/plain")
        alice, writer = network.tokens["alice"], network.tokens["alice-write"]
        for path, token, status, error in (
            ("/api/v1/streaming/user", None, 401, "Missing access token"),
            ("/api/v1/streaming/user", "nope", 401, "Invalid access token"),
            ("/api/v1/streaming/public", writer, 401, SCOPES),
            ("/api/v1/streaming/hashtag", alice, 400, "Missing tag name parameter"),
            ("/api/v1/streaming/list?list=12345", alice, 401, "Not authorized to stream this list"),
            ("/api/v1/streaming/elsewhere", alice, 400, "Unknown channel requested"),
        ):  # fmt: skip
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = await client.get(path, headers=headers)
            assert (answer.status_code, answer.json()) == (status, {"error": error}), path
        # A plain GET of the WebSocket path says "same host": 404, as Mastodon answers it.
        assert (await client.get("/api/v1/streaming")).status_code == 404

    for token in ("nope", network.tokens["alice-write"], None):
        with pytest.raises(InvalidStatus) as refused:
            async with socket(network.sales.address, token, "?stream=user"):
                pass
        assert refused.value.response.status_code == 401
        assert b'"error"' in refused.value.response.body

    # The token as the WebSocket subprotocol (browsers cannot set headers): echoed back.
    token = network.tokens["alice"]
    async with socket(network.sales.address, None, "?stream=public", subprotocols=[token]) as ws:
        assert ws.subprotocol == token
        assert await barrier(ws) == []
    async with socket(network.sales.address, None, f"?stream=user&access_token={token}") as ws:
        assert await subscribe(ws, "hashtag") == [
            {"error": "Missing tag name parameter", "status": 400}
        ]
    assert "WebSocket /api/v1/streaming?stream=user" in network.sales.log()
    assert token not in network.sales.log()


# ----- one instance in process, settings shortened ---------------------------------------------


@dataclass
class Served:
    app: Starlette
    address: str
    tokens: dict[str, str]
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(asyncio.shield(self.task), WAIT)

    @property
    def services(self) -> Services:
        return self.app.state.services  # type: ignore[no-any-return]

    def api(self, name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://{self.address}",
            headers={"Authorization": f"Bearer {self.tokens[name]}"},
            timeout=WAIT,
        )


@asynccontextmanager
async def served(make_config: MakeConfig, settings: StreamingSettings) -> AsyncIterator[Served]:
    """An instance served by uvicorn in this event loop, with users alice and carol."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    app = create_app(make_config(address), streaming=settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(WAIT):
            while not server.started:
                assert not task.done(), "the server did not start"
                await asyncio.sleep(0.02)
        svc: Services = app.state.services
        now = datetime.now(UTC)
        tokens = {}
        for name in ("alice", "carol"):
            await create_user(svc.db, svc.uris, name, now=now, password="password123")
            tokens[name] = await create_token(svc.db, name, ("read", "write", "follow"), now)
        yield Served(app, address, tokens, server, task)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT)


async def test_hashtag_subscribe_and_unsubscribe(make_config: MakeConfig) -> None:
    async with served(make_config, StreamingSettings()) as instance, instance.api("carol") as carol:
        async with socket(instance.address, instance.tokens["alice"]) as ws:
            await subscribe(ws, "hashtag", tag="Launch")
            await subscribe(ws, "hashtag:local", tag="#launch")
            first = await post(carol, "Countdown #launch")
            seen = await until(ws, about(first))
            seen += await barrier(ws)
            assert [(m["stream"], m["event"]) for m in seen] == [
                (["hashtag", "Launch"], "update"),  # the tag as the client wrote it
                (["hashtag:local", "#launch"], "update"),
            ]
            # The hub tails the store: a post it has not read yet goes to the subscriptions
            # made meanwhile. So see it read before the subscriptions change.
            await subscribe(ws, "hashtag", tag="other")
            other = await post(carol, "Nothing to see #other")
            seen = await until(ws, about(other))
            seen += await barrier(ws)
            assert status_events(seen) == {("hashtag:other", "update", other)}
            await ws.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "launch"}))
            await ws.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "other"}))
            await subscribe(ws, "public:local")
            second = await post(carol, "Liftoff #launch")
            seen = await until(ws, about(second))
            seen += await barrier(ws)
            assert status_events(seen) == {
                ("hashtag:local:#launch", "update", second),
                ("public:local", "update", second),
            }
            await ws.send(json.dumps({"type": "unsubscribe", "stream": "nope"}))
            assert await until(ws, lambda m: "error" in m) == [
                {"error": "Error unsubscribing from channel"}
            ]


async def test_edits_lists_and_direct_messages(make_config: MakeConfig) -> None:
    async with (
        served(make_config, StreamingSettings()) as instance,
        instance.api("alice") as alice,
        instance.api("carol") as carol,
    ):
        carol_id = await resolve_account(alice, "carol")
        assert (await alice.post(f"/api/v1/accounts/{carol_id}/follow")).status_code == 200
        made = await alice.post("/api/v1/lists", data={"title": "Carol's corner"})
        list_id = made.json()["id"]
        added = await alice.post(
            f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": carol_id}
        )
        assert added.status_code == 200, added.text
        async with socket(instance.address, instance.tokens["alice"], "?stream=user") as ws:
            await subscribe(ws, "list", list=list_id)
            await subscribe(ws, "direct")
            status_id = await post(carol, "Draft")
            seen = await until(ws, about(status_id))
            seen += await barrier(ws)
            assert status_events(seen) == {
                ("user", "update", status_id),
                (f"list:{list_id}", "update", status_id),
            }
            edited = await carol.put(f"/api/v1/statuses/{status_id}", data={"status": "Final"})
            assert edited.status_code == 200, edited.text
            seen = await until(ws, about(status_id, "status.update"))
            seen += await barrier(ws)
            assert status_events(seen) == {
                ("user", "status.update", status_id),
                (f"list:{list_id}", "status.update", status_id),
            }
            assert "Final" in json.loads(seen[0]["payload"])["content"]

            direct_id = await post(carol, "@alice just between us", visibility="direct")
            seen = await until(ws, lambda m: m["event"] == "conversation")
            conversation = json.loads(seen[-1]["payload"])
            assert seen[-1]["stream"] == ["direct"]
            assert conversation["last_status"]["id"] == direct_id
            assert [a["acct"] for a in conversation["accounts"]] == ["carol"]

        # Someone else's list cannot be streamed.
        async with socket(instance.address, instance.tokens["carol"]) as ws:
            assert await subscribe(ws, "list", list=list_id) == [
                {"error": "Not authorized to stream this list", "status": 401}
            ]


async def test_heartbeats_and_the_hubs_life(make_config: MakeConfig) -> None:
    settings = StreamingSettings(heartbeat=0.1, poll_interval=0.1)
    async with served(make_config, settings) as instance:
        hub = instance.services.streaming
        assert not hub.running  # nothing runs until someone listens
        token = instance.tokens["alice"]
        async with (
            httpx.AsyncClient(base_url=f"http://{instance.address}", timeout=WAIT) as client,
            client.stream("GET", "/api/v1/streaming/public/local", params={"access_token": token})
            as response,
        ):  # fmt: skip
            lines = response.aiter_lines()
            assert await asyncio.wait_for(anext(lines), WAIT) == ":)"
            assert await asyncio.wait_for(anext(lines), WAIT) == ":thump"
            assert hub.running and hub.client_count == 1
        await eventually(lambda: not hub.running)  # the last one left: the hub's task ends

        # The server stops with a WebSocket open: the client is told, the hub stops.
        async with socket(instance.address, token, "?stream=user") as ws:
            assert hub.running
            await instance.stop()
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), WAIT)
        assert not hub.running and hub.client_count == 0


def test_a_slow_client_is_closed_rather_than_buffered() -> None:
    async def scenario() -> None:
        settings = StreamingSettings(queue_size=2, max_streams=2)
        client = StreamClient(1, token_hash="x", notifications=True, settings=settings)
        assert client.subscribe(StreamKey("user")) and client.subscribe(StreamKey("public"))
        assert not client.subscribe(StreamKey("direct"))  # at most max_streams
        assert client.subscribe(StreamKey("user"))  # the same stream again is no new one
        for n in range(3):
            client.offer(HubMessage("update", str(n), ("user",)))
        assert client.closed and client.close_reason == "too slow"
        with pytest.raises(ClientClosed):
            await client.next()

    asyncio.run(scenario())


# ----- Mastodon.py -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveInstance, str]]:
    """An instance whose domain is its own address, so the streaming URL it advertises
    (`configuration.urls.streaming`) is one Mastodon.py can reach."""
    port = free_port()
    live = LiveInstance(f"127.0.0.1:{port}", tmp_path_factory.mktemp("solo"), port=port)
    live.write_config(peers=[], resolve={})
    live.cli("user", "add", "alice")
    live.start()
    try:
        yield live, live.token("alice")
    finally:
        live.stop()


class Collector(StreamListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.connected = queue.Queue[bool]()
        self.updates = queue.Queue[Any]()

    def handle_heartbeat(self) -> None:
        self.connected.put(True)

    def on_update(self, status: Any) -> None:
        self.updates.put(status)


def test_mastodon_py_stream_user(solo: tuple[LiveInstance, str]) -> None:
    live, token = solo
    api = Mastodon(
        api_base_url=live.url, access_token=token, version_check_mode="none", request_timeout=WAIT
    )
    try:
        instance = api.instance_v2()
        assert instance.configuration.urls.streaming == f"ws://{live.address}"
        assert api.stream_healthy()
        listener = Collector()
        # A short read timeout: the listener's thread notices `close()` only when a read
        # returns (it then ends; before that, a timeout would make it reconnect).
        handle = api.stream_user(
            listener, run_async=True, timeout=2, reconnect_async=True, reconnect_async_wait_sec=0.5
        )
        try:
            assert listener.connected.get(timeout=WAIT)  # `:)`, sent once the stream is on
            posted = api.status_post("Streaming through Mastodon.py")
            deadline = time.monotonic() + WAIT
            while True:
                status = listener.updates.get(timeout=max(0.1, deadline - time.monotonic()))
                if status.id == posted.id:
                    break
            assert "Streaming through Mastodon.py" in status.content
        finally:
            handle.close()
            handle.join(WAIT)
            assert not handle.is_alive()
    finally:
        api.session.close()
