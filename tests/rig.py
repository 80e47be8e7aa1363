"""An in-process rig: several instances, each a real app with its own SQLite file, reaching
each other through real signed HTTP over ASGI transports. Queues advance only when the test
calls `drain()`, so every step is deterministic."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette

from store import accounts, statuses, timelines
from store.records import AccountRecord, StatusRecord
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app
from watercooler.config import Config
from watercooler.services import Services

MAX_DRAIN_ROUNDS = 50


class RouterTransport(httpx.AsyncBaseTransport):
    """Routes each request to the app serving its host; unknown hosts fail to connect."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        app = self.apps.get(request.url.netloc.decode("ascii"))
        if app is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        return await app.handle_async_request(request)


class Watch(httpx.AsyncBaseTransport):
    """Passes requests on to an instance, remembering each URL."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.urls = inner, list[str]()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)


@dataclass
class Rig:
    configs: list[Config]
    router: RouterTransport = field(default_factory=RouterTransport)
    apps: dict[str, Starlette] = field(default_factory=dict)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def __aenter__(self) -> Rig:
        for config in self.configs:
            app = create_app(config, transport=self.router, run_workers=False)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            self.apps[config.instance.domain] = app
            self.router.apps[config.instance.domain] = httpx.ASGITransport(app=app)
        await self.drain()  # peers' instance actors link up, as running instances would be
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def services(self, domain: str) -> Services:
        return self.apps[domain].state.services  # type: ignore[no-any-return]

    def client(self, domain: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.router, base_url=f"http://{domain}")

    async def drain(self) -> int:
        """Run every instance's workers until nothing is left to do; returns jobs handled."""
        total = 0
        for _ in range(MAX_DRAIN_ROUNDS):
            handled = 0
            for domain in self.apps:
                handled += await self.services(domain).workers.run_once()
            total += handled
            if handled == 0:
                return total
        raise AssertionError("queues did not drain")

    async def user(self, domain: str, name: str) -> AccountRecord:
        svc = self.services(domain)
        created = await create_user(
            svc.db, svc.uris, name, now=datetime.now(UTC), password="password123"
        )
        return created.account

    async def api_client(
        self, domain: str, name: str, scopes: str = "read write follow"
    ) -> httpx.AsyncClient:
        """A client calling `domain`'s API as `name` (created if new) with a token of `scopes`."""
        svc = self.services(domain)
        if await self.account(domain, svc.uris.actor(name)) is None:
            await self.user(domain, name)
        token = await create_token(svc.db, name, tuple(scopes.split()), datetime.now(UTC))
        return httpx.AsyncClient(
            transport=self.router,
            base_url=f"http://{domain}",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def admin_client(self, domain: str, name: str = "admin") -> httpx.AsyncClient:
        """A client calling `domain`'s API as an admin with the admin scopes."""
        svc = self.services(domain)
        if await self.account(domain, svc.uris.actor(name)) is None:
            await create_user(
                svc.db, svc.uris, name, now=datetime.now(UTC), password="password123", admin=True
            )
        scopes = ("read", "write", "admin:read", "admin:write")
        token = await create_token(svc.db, name, scopes, datetime.now(UTC))
        return httpx.AsyncClient(
            transport=self.router,
            base_url=f"http://{domain}",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def account(self, domain: str, uri: str) -> AccountRecord | None:
        async with self.services(domain).db.read() as conn:
            return await accounts.get_by_uri(conn, uri)

    async def home(self, domain: str, account: AccountRecord) -> list[StatusRecord]:
        async with self.services(domain).db.read() as conn:
            ids = await timelines.home_ids(conn, account.id, limit=100)
            found = [await statuses.get_by_id(conn, i) for i in ids]
        return [s for s in found if s is not None]

    async def status(self, domain: str, uri: str) -> StatusRecord | None:
        async with self.services(domain).db.read() as conn:
            return await statuses.get_by_uri(conn, uri)
