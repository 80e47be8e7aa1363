"""The loop every queue worker runs in the server: call its `run_once` again at once while
it finds work, else wait until its wake event is set (new work committed here), the stop
event is set, or `idle_seconds` pass (work another process queued, or a time come due).
A failing cycle is logged and waited out like an idle one, so one bad row cannot spin."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_until_stopped(
    cycle: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    *,
    name: str,
    idle_seconds: float,
    wake: asyncio.Event | None = None,
) -> None:
    while not stop.is_set():
        try:
            handled = await cycle()
        except Exception:
            log.exception("%s cycle failed", name)
            handled = 0
        if handled:
            await asyncio.sleep(0)  # let requests run between batches
            continue
        if wake is not None:
            wake.clear()
        waiters = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        await asyncio.wait(waiters, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
