"""Shared fixtures: configs on a fresh SQLite file, and instances running in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from federation.uris import Uris
from store.db import Database
from watercooler.app import create_app
from watercooler.config import (
    Config,
    DatabaseConfig,
    FederationConfig,
    InstanceConfig,
    MediaConfig,
    OrgConfig,
    PeerConfig,
)
from watercooler.services import Services, open_database

MakeConfig = Callable[..., Config]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """Build a Config for `domain` with its own database file under tmp_path."""

    def make(
        domain: str = "a.test",
        *,
        peers: tuple[str, ...] = (),
        resolve: dict[str, str] | None = None,
        org: OrgConfig | None = None,
        **federation: Any,
    ) -> Config:
        folder = tmp_path / domain.replace(":", "_")
        federation.setdefault("allow_http", True)
        return Config(
            instance=InstanceConfig(domain=domain, base_url=f"http://{domain}", name=domain),
            database=DatabaseConfig(path=str(folder / "db.sqlite3")),
            media=MediaConfig(path=str(folder / "media")),
            federation=FederationConfig(resolve=resolve or {}, **federation),
            peers=tuple(PeerConfig(domain=p) for p in peers),
            org=org or OrgConfig(),
        )

    return make


@asynccontextmanager
async def running(app: Starlette, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Enter the app's lifespan (ASGITransport does not) and give a client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@pytest.fixture
async def instance(make_config: MakeConfig) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """One instance `a.test` in process, with its services and a client talking to it."""
    config = make_config("a.test")
    app = create_app(config)
    async with running(app, config.instance.base_url) as client:
        yield app.state.services, client


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    config_db = DatabaseConfig(path=str(tmp_path / "store.sqlite3"))
    config = Config(
        instance=InstanceConfig(domain="a.test", base_url="https://a.test"), database=config_db
    )
    database = await open_database(config)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def uris() -> Uris:
    return Uris("https://a.test")
