"""Sending a report to the reported account's division: a `Flag` from our instance actor.

Mastodon forwards a report as `Flag` from its instance actor (the reporter stays anonymous to
the other side) with the comment as `content` and `object` = [the account, its statuses], to
the origin's shared inbox; GoToSocial sends the same shape. We do the same, queued in the
transaction that stores the report (the transactional outbox), delivered by the normal
delivery worker. The wire format is in docs/federation.md ("Reports: Flag").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from federation.astools import format_datetime
from federation.objects import AS_CONTEXT
from federation.uris import Uris
from store import accounts, deliveries
from store import activities as stored_activities
from store.db import Connection
from store.records import AccountRecord


class FlagError(ValueError):
    """The report cannot be forwarded (a local target, no inbox, no instance actor)."""


def flag_uri(uris: Uris, report_id: int) -> str:
    """The id of the Flag that forwards report `report_id` (not dereferenceable, like
    Mastodon's)."""
    return f"{uris.instance_actor}#flags/{report_id}"


def flag_to_as(
    *,
    id_: str,
    actor: str,
    target_uri: str,
    status_uris: Sequence[str],
    content: str,
    published: datetime,
) -> dict[str, Any]:
    """The Flag document, shaped as Mastodon's (`to` the reported account, an array)."""
    return {
        "@context": AS_CONTEXT,
        "id": id_,
        "type": "Flag",
        "actor": actor,
        "content": content,
        "object": [target_uri, *status_uris],
        "to": [target_uri],
        "cc": [],
        "published": format_datetime(published),
    }


async def enqueue_flag(
    conn: Connection,
    new_id: Callable[[], int],
    uris: Uris,
    *,
    report_id: int,
    target: AccountRecord,
    status_uris: Sequence[str],
    comment: str,
    now: datetime,
) -> dict[str, Any]:
    """Store the Flag as an activity of our instance actor and queue it for the target's
    division (its shared inbox, else the account's inbox). Call inside the transaction that
    stores the report; the caller wakes the delivery worker after commit."""
    if target.is_local:
        raise FlagError("a local account's report is not forwarded")
    inbox = target.shared_inbox_url or target.inbox_url
    if not inbox:
        raise FlagError(f"{target.uri} has no inbox")
    instance = await accounts.get_instance_actor(conn)
    if instance is None:
        raise FlagError("the instance actor is missing")
    document = flag_to_as(
        id_=flag_uri(uris, report_id),
        actor=instance.uri,
        target_uri=target.uri,
        status_uris=status_uris,
        content=comment,
        published=now,
    )
    body = json.dumps(document)
    await stored_activities.insert(
        conn,
        new_id(),
        uri=document["id"],
        account_id=instance.id,
        type_="Flag",
        object_uri=target.uri,
        status_id=None,
        body=body,
        now=now,
    )
    await deliveries.enqueue(
        conn,
        new_id,
        activity_uri=document["id"],
        actor_account_id=instance.id,
        inboxes=[inbox],
        body=body,
        now=now,
    )
    return document
