"""Accepting an activity at an inbox: check, verify, store, answer — nothing more.

Order matters for cost and safety: media type and size (cheap), JSON and shape, peer policy
on the actor's domain (before any key fetch), the signature (fetching the key if needed),
the signer being the actor, the activity id living on the actor's host. Only then is the
raw activity written to the inbound queue; the caller answers 202 once that commit is on
disk. Processing happens later in the inbox worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from federation.activities import Activity, parse_activity
from federation.errors import ParseError, SignatureError
from federation.policy import PeerPolicy, domain_of
from federation.signatures import HttpRequestView, KeyResolver
from federation.verify import verify_request
from store import inbox_items
from store.db import Database

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
_MEDIA_TYPES = ("application/activity+json", "application/ld+json", "application/json")


class InboxRejected(Exception):
    """The request is not one we take; `status` is the HTTP answer (400, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Intake:
    db: Database
    keys: KeyResolver
    policy: PeerPolicy
    clock: Callable[[], datetime]
    max_skew: timedelta


def _depth(value: object, limit: int) -> int:
    """Nesting depth, stopping early: deeply nested JSON is refused, not walked."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)
    return deepest


def parse_body(view: HttpRequestView) -> tuple[dict[str, object], Activity]:
    """The request's activity, or InboxRejected with the status to answer."""
    media_type = (view.header("content-type") or "").split(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise InboxRejected(415, f"content type {media_type or 'missing'} is not ActivityStreams")
    if len(view.body) > MAX_BODY_BYTES:
        raise InboxRejected(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(view.body.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise InboxRejected(400, "body is not valid JSON") from error
    if not isinstance(document, dict):
        raise InboxRejected(400, "body is not a JSON object")
    if _depth(document, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InboxRejected(400, "JSON nested too deeply")
    try:
        activity = parse_activity(document)
    except ParseError as error:
        raise InboxRejected(400, f"not an activity: {error}") from error
    return document, activity


def activity_key(activity: Activity, body: bytes) -> str:
    """The idempotency key: the activity id, or a digest of the body for id-less activities
    (GoToSocial sends some Deletes without an id)."""
    if activity.id:
        return activity.id
    return "urn:sha256:" + hashlib.sha256(body).hexdigest()


async def accept_activity(
    intake: Intake, view: HttpRequestView, *, recipient_account_id: int | None
) -> bool:
    """Verify and enqueue; True if stored, False if it was a duplicate (still a 202).

    Raises InboxRejected, SignatureError or PolicyRejected; nothing is written then.
    """
    _, activity = parse_body(view)
    intake.policy.check_url(activity.actor)
    verified = await verify_request(view, intake.keys, now=intake.clock(), max_skew=intake.max_skew)
    if verified.owner != activity.actor:
        raise SignatureError(
            "invalid", f"signed by {verified.owner}, not by the actor {activity.actor}"
        )
    if activity.id and domain_of(activity.id) != domain_of(activity.actor):
        raise InboxRejected(400, "activity id is not on the actor's host")
    key = activity_key(activity, view.body)
    async with intake.db.transaction() as conn:
        stored = await inbox_items.enqueue(
            conn,
            intake.db.new_id(),
            activity_uri=key,
            actor_uri=activity.actor,
            recipient_account_id=recipient_account_id,
            body=view.body.decode("utf-8"),  # as received, to reprocess after a fix
            now=intake.clock(),
        )
    log.info(
        "activity received activity_id=%s type=%s actor=%s duplicate=%s",
        key,
        activity.type,
        activity.actor,
        not stored,
    )
    return stored
