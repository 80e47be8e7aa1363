"""The ASGI application: `create_app(config)` wires routes, errors and the lifespan.

Process-wide resources (database, HTTP client, keys) are created in the lifespan, never at
import, so one process can hold several instances (the test rig does).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from watercooler.config import Config
from watercooler.http import EXCEPTION_HANDLERS
from watercooler.routes import actors, wellknown
from watercooler.services import Clock, start_services, system_clock

log = logging.getLogger(__name__)


def create_app(
    config: Config,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """An instance for `config`. `clock` and `transport` are for tests."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await start_services(config, clock=clock, transport=transport)
        app.state.services = services
        log.info("instance ready domain=%s", config.instance.domain)
        try:
            yield
        finally:
            await services.aclose()

    return Starlette(
        routes=[*wellknown.routes, *actors.routes],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
