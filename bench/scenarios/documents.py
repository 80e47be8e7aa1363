"""S2: `GET` of actor and status documents against the bare GET of a stored 1 KB JSON.

The ceiling serves the very bytes the instance answered for the actor, so both sides send
the same payload; the instance builds its answer from the database each time.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime

import httpx

from bench import servers, world, wrk
from bench.scenarios import Result, Settings, wrk_rounds
from store.db import Database
from watercooler.accounts import create_token

ACTIVITY_JSON = "application/activity+json"


async def _token(folder_db: str) -> str:
    db = Database(folder_db)
    await db.open()
    try:
        return await create_token(db, "user0", ("read", "write"), datetime.now(UTC))
    finally:
        await db.close()


def _get(path: str) -> bytes:
    return wrk.raw_request("GET", path, world.DOMAIN, {"Accept": ACTIVITY_JSON})


def run(settings: Settings) -> list[Result]:
    folder = settings.work / "documents"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    asyncio.run(world.seed(folder, local_users=1, remote_actors=1))
    config = world.write_config(folder)
    token = asyncio.run(_token(str(folder / "db.sqlite3")))
    actor = Result("S2-actor", "GET actor document", ">= 70% of the bare GET")
    status = Result("S2-status", "GET status document", ">= 50% of the bare GET")
    port, ceiling_port = servers.free_port(), servers.free_port()
    files = []
    try:
        with servers.watercooler(config, port, folder / "server.log") as server:
            headers = {"Host": world.DOMAIN}
            posted = httpx.post(
                f"{server.url}/api/v1/statuses",
                headers={**headers, "Authorization": f"Bearer {token}"},
                data={"status": "Quarterly planning notes are up #planning " * 6},
                timeout=10,
            ).json()
            status_path = f"/users/user0/statuses/{posted['id']}"
            document = httpx.get(
                f"{server.url}/users/user0", headers={**headers, "Accept": ACTIVITY_JSON}
            )
            document.raise_for_status()
            (folder / "doc.json").write_bytes(document.content)
            env = {"BENCH_DOC": str(folder / "doc.json")}
            actor.extra["document_bytes"] = len(document.content)
            with servers.ceiling(
                "bench.ceilings.app:create_app", ceiling_port, folder / "ceiling.log", env=env
            ) as ceiling:
                bare = wrk.write_requests([_get("/doc")])
                files.append(bare)
                for result, path in ((actor, "/users/user0"), (status, status_path)):
                    requests = wrk.write_requests([_get(path)])
                    files.append(requests)
                    wrk_rounds(
                        result,
                        settings,
                        target_url=server.url + path,
                        ceiling_url=ceiling.url + "/doc",
                        requests=requests,
                        ceiling_requests=bare,
                    )
    finally:
        for path in files:
            path.unlink(missing_ok=True)
    actor.met = actor.ratio().median >= 0.7
    status.met = status.ratio().median >= 0.5
    return [actor, status]
