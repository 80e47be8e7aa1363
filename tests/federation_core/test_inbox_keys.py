"""The inbox holds signers' keys in memory, and that never lets in what the store would refuse.

a.test receives from bob on b.test. Keys are changed behind a.test's back with plain SQL, as
another process (`watercooler worker` storing an `Update(Person)`, an operator) would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from itertools import count
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation import activities
from federation.keys import generate_rsa_keypair, load_private_key
from federation.objects import Note, note_to_json
from federation.signatures import sign_request
from tests.conftest import MakeConfig
from tests.rig import Rig, Watch
from watercooler.keyresolver import StoreKeyResolver

BOB = "http://b.test/users/bob"
KEY_ID = f"{BOB}#main-key"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_serial = count(1)


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=("a.test",))]
    async with Rig(configs) as rig:
        await rig.user("a.test", "alice")
        await rig.user("b.test", "bob")
        yield rig


async def bobs_key(rig: Rig) -> rsa.RSAPrivateKey:
    svc = rig.services("b.test")
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, KEY_ID))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def create_note() -> bytes:
    note = Note(
        type="Note",
        attributed_to=BOB,
        content="<p>Numbers are in</p>",
        id=f"{BOB}/statuses/{next(_serial)}",
        to=(PUBLIC,),
        published=datetime.now(UTC),
    )
    return json.dumps(activities.create(BOB, note_to_json(note))).encode()


async def post(rig: Rig, body: bytes, key: rsa.RSAPrivateKey) -> httpx.Response:
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST",
        "http://a.test/inbox",
        headers,
        body,
        key_id=KEY_ID,
        private_key=key,
        now=datetime.now(UTC),
    )
    async with rig.client("a.test") as client:
        return await client.post("/inbox", content=body, headers=headers)


def sql(rig: Rig, domain: str, statement: str, *params: Any) -> list[Any]:
    """Plain SQL on an instance's file, beside the app's own connections (another process)."""
    with closing(sqlite3.connect(rig.services(domain).db.path)) as conn, conn:
        return conn.execute(statement, params).fetchall()


def stored(rig: Rig) -> int:
    return int(sql(rig, "a.test", "SELECT count(*) FROM inbox_items")[0][0])


def watch_b(rig: Rig) -> Watch:
    watch = Watch(rig.router.apps["b.test"])
    rig.router.apps["b.test"] = watch  # type: ignore[assignment]
    return watch


async def test_a_key_rotated_by_another_process_is_not_trusted_from_memory(rig: Rig) -> None:
    old = await bobs_key(rig)
    assert (await post(rig, create_note(), old)).status_code == 202  # a.test now holds it
    # Bob rotates his key, and a.test's worker process stores the new one.
    new = generate_rsa_keypair()
    sql(
        rig,
        "b.test",
        "UPDATE keys SET public_key_pem = ?, private_key_pem = ? WHERE key_uri = ?",
        new.public_pem,
        new.private_pem,
        KEY_ID,
    )
    sql(
        rig,
        "a.test",
        "UPDATE keys SET id = id + 1, public_key_pem = ? WHERE key_uri = ?",
        new.public_pem,
        KEY_ID,
    )
    before = stored(rig)
    refused = await post(rig, create_note(), old)
    assert refused.status_code == 401, refused.text
    assert stored(rig) == before
    new_key = load_private_key(new.private_pem)
    assert isinstance(new_key, rsa.RSAPrivateKey)
    assert (await post(rig, create_note(), new_key)).status_code == 202
    assert stored(rig) == before + 1


async def test_a_flood_of_forged_signatures_is_refused_from_memory(rig: Rig) -> None:
    assert (await post(rig, create_note(), await bobs_key(rig))).status_code == 202
    watch, before = watch_b(rig), stored(rig)
    forger = load_private_key(generate_rsa_keypair().private_pem)
    assert isinstance(forger, rsa.RSAPrivateKey)
    for _ in range(20):
        refused = await post(rig, create_note(), forger)
        assert refused.status_code == 401 and "(invalid)" in refused.json()["error"]
    assert watch.urls == [BOB]  # bob's key refreshed once, not twenty times
    assert stored(rig) == before


async def test_a_key_removed_behind_our_back_is_fetched_again_once(rig: Rig) -> None:
    key = await bobs_key(rig)
    assert (await post(rig, create_note(), key)).status_code == 202
    sql(rig, "a.test", "DELETE FROM keys WHERE key_uri = ?", KEY_ID)
    watch, before = watch_b(rig), stored(rig)
    for _ in range(3):
        assert (await post(rig, create_note(), key)).status_code == 202
    assert watch.urls == [BOB]
    assert stored(rig) == before + 3
