"""One handler per activity type, in one table. Unknown types are accepted and ignored."""

from __future__ import annotations

from collections.abc import Mapping

from inbox.featured import handle_add, handle_remove
from inbox.follows import handle_accept, handle_follow, handle_reject
from inbox.manifest import handle_update  # org manifests; other Updates: inbox.posts
from inbox.posts import handle_create, handle_delete
from inbox.reactions import handle_announce, handle_block, handle_like, handle_undo
from inbox.worker import Handler

HANDLERS: Mapping[str, Handler] = {
    "Follow": handle_follow,
    "Accept": handle_accept,
    "Reject": handle_reject,
    "Create": handle_create,
    "Update": handle_update,
    "Delete": handle_delete,
    "Announce": handle_announce,
    "Like": handle_like,
    "Block": handle_block,
    "Undo": handle_undo,
    "Add": handle_add,
    "Remove": handle_remove,
}
