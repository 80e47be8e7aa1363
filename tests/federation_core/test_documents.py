"""Actor and status documents come from one query and a kept rendering, yet every change
shows at once: made through the app, or with plain SQL as another process would (a
`watercooler worker`, the CLI). Visibility holds on every request."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from store import documents, statuses
from tests.conftest import MakeConfig, running
from watercooler.accounts import create_user
from watercooler.app import create_app
from watercooler.services import Services

AP = {"Accept": "application/activity+json"}
ALICE = "/users/alice"


@pytest.fixture
async def a(make_config: MakeConfig) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    config = make_config("a.test")
    app = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        svc: Services = app.state.services
        await create_user(svc.db, svc.uris, "alice", now=datetime.now(UTC))
        yield svc, client


def sql(svc: Services, statement: str, *params: Any) -> None:
    """Plain SQL beside the app's own connections, as another process writes."""
    with closing(sqlite3.connect(svc.db.path)) as conn, conn:
        conn.execute(statement, params)


async def post(svc: Services, visibility: str = "public") -> str:
    """A status of alice's; its document's path."""
    account = await svc.actors.get("http://a.test/users/alice")
    assert account is not None
    status = await svc.publisher.post(account, "Quarterly numbers", visibility=visibility)
    return f"{ALICE}/statuses/{status.id}"


async def get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await client.get(path, headers=AP)


async def test_an_actor_document_shows_every_change_at_once(
    a: tuple[Services, httpx.AsyncClient],
) -> None:
    svc, client = a
    first = await get(client, ALICE)
    assert first.status_code == 200 and first.json()["name"] == "alice"
    assert first.headers["content-type"] == "application/activity+json; charset=utf-8"
    assert first.headers["vary"] == "Accept"
    assert (await get(client, ALICE)).content == first.content
    sql(svc, "UPDATE accounts SET display_name = 'Alice A.' WHERE username = 'alice'")
    assert (await get(client, ALICE)).json()["name"] == "Alice A."
    sql(
        svc,
        "INSERT INTO account_fields (account_id, position, name, value)"
        " SELECT id, 0, 'Team', 'Finance' FROM accounts WHERE username = 'alice'",
    )
    assert [f["name"] for f in (await get(client, ALICE)).json()["attachment"]] == ["Team"]
    sql(svc, "UPDATE keys SET public_key_pem = 'ROTATED' WHERE key_uri LIKE '%alice%'")
    assert (await get(client, ALICE)).json()["publicKey"]["publicKeyPem"] == "ROTATED"
    sql(
        svc,
        "UPDATE accounts SET suspended_at = '2030-01-01T00:00:00.000Z' WHERE username = 'alice'",
    )
    assert (await get(client, ALICE)).status_code == 410
    assert (await get(client, "/users/nobody")).status_code == 404


async def test_a_status_document_shows_edits_and_deletions_at_once(
    a: tuple[Services, httpx.AsyncClient],
) -> None:
    svc, client = a
    path = await post(svc)
    first = await get(client, path)
    assert first.status_code == 200 and "Quarterly numbers" in first.json()["content"]
    sql(svc, "UPDATE statuses SET content = '<p>Revised</p>' WHERE uri LIKE ?", f"%{path}")
    assert (await get(client, path)).json()["content"] == "<p>Revised</p>"
    sql(
        svc,
        "UPDATE statuses SET deleted_at = '2030-01-01T00:00:00.000Z' WHERE uri LIKE ?",
        f"%{path}",
    )
    assert (await get(client, path)).status_code == 410
    assert (
        await get(client, f"/users/somebody/statuses/{path.rsplit('/', 1)[1]}")
    ).status_code == 404


async def test_followers_only_posts_are_never_served_unsigned(
    a: tuple[Services, httpx.AsyncClient],
) -> None:
    svc, client = a
    private = await post(svc, visibility="private")
    assert (await get(client, private)).status_code == 404
    public = await post(svc)
    assert (await get(client, public)).status_code == 200  # kept now
    sql(svc, "UPDATE statuses SET visibility = 'private' WHERE uri LIKE ?", f"%{public}")
    assert (await get(client, public)).status_code == 404


async def test_kept_documents_are_what_the_full_path_renders_and_cost_no_query_meanwhile(
    a: tuple[Services, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, client = a
    path = await post(svc)
    served = (await get(client, path)).content
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, int(path.rsplit("/", 1)[1]))
    assert status is not None
    assert served == orjson.dumps(await svc.publisher.note_json(status))
    stamps: list[str] = []
    inner = documents.status_stamp

    async def counted(*args: Any) -> Any:
        stamps.append("read")
        return await inner(*args)

    monkeypatch.setattr(documents, "status_stamp", counted)
    for _ in range(5):
        assert (await get(client, path)).content == served
    assert stamps == []  # nothing was committed meanwhile
    sql(svc, "UPDATE accounts SET note = 'hello' WHERE username = 'alice'")  # any commit at all
    assert (await get(client, path)).content == served
    assert stamps == ["read"]
