"""The inbox worker's handlers commit without waiting for the disk (they are redone from the
durable inbound row if a power loss takes them back), and the item is done afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from federation.activities import Activity
from inbox.context import InboxContext
from inbox.worker import InboxWorker
from store import inbox_items
from store.records import InboxItemRecord
from tests.conftest import MakeConfig
from watercooler.services import start_services


async def test_handlers_commit_redoably_and_the_item_is_then_done(make_config: MakeConfig) -> None:
    services = await start_services(make_config("a.test"))
    seen: list[int] = []

    async def probe(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
        async with ctx.db.transaction() as conn:
            async with conn.execute("PRAGMA synchronous") as cursor:
                seen.append(int((await cursor.fetchone())[0]))

    try:
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": "http://b.test/activities/1",
            "type": "Like",
            "actor": "http://b.test/users/bob",
            "object": "http://a.test/users/alice/statuses/1",
        }
        async with services.db.transaction() as conn:
            await inbox_items.enqueue(
                conn,
                services.db.new_id(),
                activity_uri=activity["id"],
                actor_uri=activity["actor"],
                recipient_account_id=None,
                body=json.dumps(activity),
                now=datetime.now(UTC),
            )
        worker = InboxWorker(services.workers.inbox.ctx, handlers={"Like": probe})
        assert await worker.run_once() == 1
        assert seen == [1]  # NORMAL inside the handler
        async with services.db.read() as conn:
            assert await inbox_items.counts(conn) == {"done": 1}
        async with services.db.transaction() as conn:  # and FULL again for everything else
            async with conn.execute("PRAGMA synchronous") as cursor:
                assert (await cursor.fetchone())[0] == 2
    finally:
        await services.aclose()
