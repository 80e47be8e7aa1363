"""The ASGI application: `create_app(config)` wires routes, errors and the lifespan.

Process-wide resources (database, HTTP client, keys) are created in the lifespan, never at
import, so one process can hold several instances (the test rig does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware

from watercooler import api, instance_settings
from watercooler.config import Config
from watercooler.cors import ApiCors
from watercooler.http import EXCEPTION_HANDLERS
from watercooler.routes import (
    actors,
    c2s,
    communities,
    directory,
    inbox,
    media,
    statuses,
    wellknown,
)
from watercooler.routes import announcements as announcement_routes
from watercooler.routes import oauth as oauth_routes
from watercooler.routing import IndexedRouter
from watercooler.services import Clock, start_services, system_clock
from watercooler.streaming.fanout import StreamFanout
from watercooler.streaming.hub import StreamingSettings
from watercooler.web import admin as web_admin
from watercooler.web import routes as web_routes
from watercooler.web import sso as web_sso

log = logging.getLogger(__name__)


def create_app(
    config: Config,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    run_workers: bool = True,
    streaming: StreamingSettings | None = None,
) -> Starlette:
    """An instance for `config`. `clock`, `transport`, `run_workers=False` (drive the
    queues with `services.workers.run_once()`) and `streaming` settings are for tests."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await start_services(
            config, clock=clock, transport=transport, streaming=streaming
        )
        services.streaming.bind(StreamFanout(services, services.streaming.settings))
        # the settings admins changed at run time, over the file's (watercooler.instance_settings)
        services.config = await instance_settings.apply(services.db, services.config)
        app.state.services = services
        stop = asyncio.Event()
        workers = None
        if run_workers:
            # With `server.workers = false` the queues run in `watercooler worker`; this
            # process still follows peer changes and counts what its inbox refused.
            runner = (
                services.workers.run_forever(stop)
                if config.server.workers
                else services.peering.watch(stop)
            )
            workers = asyncio.create_task(runner)
        log.info("instance ready domain=%s", config.instance.domain)
        try:
            yield
        finally:
            stop.set()
            await services.streaming.aclose()  # closes streaming clients, stops the hub
            if workers is not None:
                await workers
            await web_sso.close(app)
            await services.aclose()

    app = Starlette(
        routes=[
            # Tried in order: what peers send most (inbox POSTs, document GETs) comes first.
            *inbox.routes,
            *actors.routes,
            *statuses.routes,
            *communities.routes,
            *announcement_routes.routes,
            *wellknown.routes,
            *directory.routes,
            *c2s.routes,
            *media.routes,
            *oauth_routes.routes,
            *web_routes.routes,
            *web_admin.routes,
            *api.routes,
            api.not_found,  # last: unknown /api/ paths answer 404 JSON
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[Middleware(ApiCors)],
        lifespan=lifespan,
    )
    # the same routes, in the same order, with fixed paths found in a dict (not ~150 regexes)
    app.router = IndexedRouter(app.router.routes, lifespan=lifespan)
    return app
