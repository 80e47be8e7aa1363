"""A benchmark instance's world: its config, a SQLite file seeded through `store/`, and the
remote actors (with private keys, so the bench can sign as them) that it knows.

The instance is `bench.test` (requests carry that Host; its signatures are checked against
it); remote actors live on the peer `remote.bench`, which resolves to a loopback port.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from federation.keys import generate_rsa_keypair
from federation.uris import Uris
from store import accounts, follows, keys, users
from store.accounts import NewAccount
from store.db import Database
from store.migrate import migrate
from watercooler.accounts import ensure_instance_actor, local_account
from watercooler.passwords import hash_password

DOMAIN = "bench.test"
BASE_URL = f"http://{DOMAIN}"
REMOTE = "remote.bench"
PASSWORD = "bench password 1"


@dataclass(frozen=True)
class RemoteActor:
    uri: str
    key_id: str
    private_pem: str
    public_pem: str


def remote_actor(index: int, public_pem: str, private_pem: str) -> RemoteActor:
    uri = f"http://{REMOTE}/users/a{index}"
    return RemoteActor(uri, f"{uri}#main-key", private_pem, public_pem)


def actor_document(actor: RemoteActor) -> dict[str, object]:
    """The Person document a remote server would serve for `actor`."""
    name = actor.uri.rsplit("/", 1)[1]
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor.uri,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{actor.uri}/inbox",
        "outbox": f"{actor.uri}/outbox",
        "followers": f"{actor.uri}/followers",
        "endpoints": {"sharedInbox": f"http://{REMOTE}/inbox"},
        "publicKey": {"id": actor.key_id, "owner": actor.uri, "publicKeyPem": actor.public_pem},
    }


def write_config(
    folder: Path,
    *,
    remote_port: int | None = None,
    workers: bool = True,
    domain: str = DOMAIN,
    peers: Mapping[str, str] | None = None,
    delivery: Mapping[str, float] | None = None,
) -> Path:
    """`peers`: more peer domains and the `host:port` each resolves to (the sinks, another
    instance); `delivery`: `[delivery]` settings."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "[instance]",
        f'domain = "{domain}"',
        f'base_url = "http://{domain}"',
        "[server]",
        'host = "127.0.0.1"',
        "port = 0",
        f"workers = {'true' if workers else 'false'}",
        "[database]",
        f'path = "{folder / "db.sqlite3"}"',
        "[media]",
        f'path = "{folder / "media"}"',
        "[federation]",
        "allow_http = true",
        "[federation.resolve]",
        f'"{REMOTE}" = "127.0.0.1:{remote_port or 9}"',
        *(f'"{peer}" = "{target}"' for peer, target in (peers or {}).items()),
        "[[peers]]",
        f'domain = "{REMOTE}"',
        *(f'[[peers]]\ndomain = "{peer}"' for peer in (peers or {})),
        *(["[delivery]"] if delivery else []),
        *(f"{name} = {value}" for name, value in (delivery or {}).items()),
    ]
    path = folder / "watercooler.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def seed(
    folder: Path, *, local_users: int, remote_actors: int, domain: str = DOMAIN
) -> list[RemoteActor]:
    """Create the database with `local_users` users (user0 follows every remote actor) and
    `remote_actors` known remote actors with keys. Keys are kept in `actors.json` so a
    rebuilt world signs with the same keys."""
    db = Database(str(folder / "db.sqlite3"))
    await db.open()
    try:
        await migrate(db.writer)
        uris = Uris(f"http://{domain}")
        now = datetime.now(UTC)
        await ensure_instance_actor(db, uris, domain, now)
        password_hash = await asyncio.to_thread(hash_password, PASSWORD)
        pairs = await asyncio.gather(
            *(asyncio.to_thread(generate_rsa_keypair) for _ in range(remote_actors))
        )
        actors = [remote_actor(i, p.public_pem, p.private_pem) for i, p in enumerate(pairs)]
        local_pair = await asyncio.to_thread(generate_rsa_keypair)
        async with db.transaction() as conn:
            local_ids = []
            for index in range(local_users):
                name = f"user{index}"
                account = await accounts.insert_account(
                    conn, db.new_id(), local_account(name, uris), now
                )
                await keys.insert_key(
                    conn,
                    db.new_id(),
                    account_id=account.id,
                    key_uri=uris.key_id(name),
                    public_key_pem=local_pair.public_pem,
                    private_key_pem=local_pair.private_pem,
                    now=now,
                )
                await users.insert_user(
                    conn,
                    db.new_id(),
                    account_id=account.id,
                    password_hash=password_hash,
                    admin=index == 0,
                    must_change_password=False,
                    email=None,
                    now=now,
                )
                local_ids.append(account.id)
            for index, actor in enumerate(actors):
                account = await accounts.insert_account(
                    conn,
                    db.new_id(),
                    NewAccount(
                        username=f"a{index}",
                        domain=REMOTE,
                        uri=actor.uri,
                        url=actor.uri,
                        inbox_url=f"{actor.uri}/inbox",
                        shared_inbox_url=f"http://{REMOTE}/inbox",
                        followers_url=f"{actor.uri}/followers",
                    ),
                    now,
                )
                await keys.replace_remote_key(
                    conn,
                    db.new_id(),
                    account_id=account.id,
                    key_uri=actor.key_id,
                    public_key_pem=actor.public_pem,
                    now=now,
                )
                if local_ids:
                    await follows.upsert(
                        conn,
                        db.new_id(),
                        account_id=local_ids[0],
                        target_account_id=account.id,
                        uri=f"{BASE_URL}/follows/{index}",
                        state="accepted",
                        now=now,
                    )
    finally:
        await db.close()
    (folder / "actors.json").write_text(json.dumps([actor.__dict__ for actor in actors], indent=0))
    return actors


def keys_file(folder: Path, actors: list[RemoteActor]) -> Path:
    """The ceiling app's key file: keyId -> owner and public key."""
    path = folder / "ceiling-keys.json"
    path.write_text(json.dumps({a.key_id: {"owner": a.uri, "pem": a.public_pem} for a in actors}))
    return path
