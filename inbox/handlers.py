"""One handler per activity type, in one table. Unknown types are accepted and ignored."""

from __future__ import annotations

from collections.abc import Mapping

from inbox import groups  # FEP-1b12: posts to our communities, what remote groups announce
from inbox.flags import handle_flag
from inbox.follows import handle_accept, handle_reject
from inbox.moves import handle_move
from inbox.reactions import handle_block, handle_like, handle_undo
from inbox.worker import Handler

HANDLERS: Mapping[str, Handler] = {
    "Follow": groups.handle_follow,
    "Accept": handle_accept,
    "Reject": handle_reject,
    "Create": groups.handle_create,
    "Update": groups.handle_update,  # org manifests, then posts (inbox.manifest)
    "Delete": groups.handle_delete,
    "Announce": groups.handle_announce,
    "Like": handle_like,
    "Block": handle_block,
    "Flag": handle_flag,
    "Undo": handle_undo,
    "Add": groups.handle_add,
    "Remove": groups.handle_remove,
    "Move": handle_move,  # account migration (inbox.moves)
}
