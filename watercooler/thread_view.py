"""A status's thread as one viewer may see it: the ancestors and replies the client API's
`GET /api/v1/statuses/:id/context` and the web pages' thread show alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store import moderation, statuses, threads
from store.db import Connection
from store.records import StatusRecord
from watercooler.filters import FilterView
from watercooler.filters import load as load_filters
from watercooler.visibility import can_see

MAX_ANCESTORS = 40
"""How far up a reply chain is walked; deeper ancestors are left out."""


@dataclass(frozen=True, slots=True)
class Context:
    ancestors: list[StatusRecord]  # oldest first
    descendants: list[StatusRecord]  # in id order
    filters: FilterView  # the viewer's thread filters, for rendering what was kept


async def visible_context(
    conn: Connection, status: StatusRecord, viewer: int | None, *, now: datetime
) -> Context:
    """The ancestors and replies of `status` that `viewer` may see and has not filtered
    out; bounded in depth (MAX_ANCESTORS) and size (threads.MAX_THREAD). Replies to a post
    the viewer cannot see or filtered out still show."""
    view = await load_filters(conn, viewer, now=now, context="thread")
    ancestors: list[StatusRecord] = []
    current = status
    while current.in_reply_to_id is not None and len(ancestors) < MAX_ANCESTORS:
        parent = await statuses.get_by_id(conn, current.in_reply_to_id)
        if parent is None:
            break
        if await can_see(conn, parent, viewer) and not await view.hidden(conn, parent):
            ancestors.append(parent)
        current = parent
    descendants: list[StatusRecord] = []
    frontier = [status.id]
    while frontier and len(descendants) < threads.MAX_THREAD:
        found = await threads.reply_ids(conn, frontier)
        replies = await statuses.get_many(conn, [reply_id for reply_id, _ in found])
        hidden = await moderation.hidden_statuses(conn, replies)
        frontier = []
        for reply_id, _ in found:
            reply = replies.get(reply_id)
            if reply is not None and await can_see(conn, reply, viewer, hidden=hidden):
                if not await view.hidden(conn, reply):
                    descendants.append(reply)
                frontier.append(reply_id)
    ancestors.reverse()
    descendants.sort(key=lambda s: s.id)
    return Context(ancestors, descendants, view)
