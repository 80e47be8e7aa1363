"""Fixtures and helpers shared by the client-API tests in this folder.

Most of them want the same two peered instances, so the `rig` fixture lives here once rather
than in each file; a file that needs a different rig (one instance, say) defines its own
`rig`, which overrides this one. The helpers below are the API calls several files made
alike; import them from `tests.watercooler.conftest`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import MakeConfig
from tests.rig import Rig


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    """Two instances, a.test and b.test, peered with each other."""
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=("a.test",))]
    async with Rig(configs) as rig:
        yield rig


async def post(client: httpx.AsyncClient, text: str, **fields: Any) -> dict[str, Any]:
    """Post a status as the client's user; the status entity."""
    made = await client.post("/api/v1/statuses", json={"status": text, **fields})
    assert made.status_code == 200, made.text
    return made.json()  # type: ignore[no-any-return]


async def account_id(client: httpx.AsyncClient, handle: str) -> str:
    """The client's instance's id for the account `handle`, resolving it if remote."""
    found = await client.get("/api/v1/accounts/search", params={"q": handle, "resolve": "true"})
    assert found.status_code == 200 and found.json(), found.text
    return str(found.json()[0]["id"])
