"""Every route of the web pages, in the order they are tried (wired in watercooler/app.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from watercooler.web import compose, sign_in, static, timelines

routes: list[BaseRoute] = [
    *static.routes,
    *sign_in.routes,
    *compose.routes,
    *timelines.routes,
]
