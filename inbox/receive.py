"""Accepting an activity at an inbox: check, verify, store, answer — nothing more.

Order matters for cost and safety: media type and size (cheap), then the signature, with
keys held in memory (`inbox.intake_keys`), else read from the store, else fetched from a
peer (the fetcher refuses any other host). Only a body with a good signature is parsed as
an activity (JSON, depth, shape), so a flood of forged requests costs little more than
their signatures; a failed one still answers 403 when its actor is not a peer. Then peer
policy on the actor, the signer being the actor, the activity id living on the actor's
host, then the peer's rate limit (`inbox.rate_limit`). A signed request hears 415/413, then
400, 403, 401, 429, as before; a forged one hears 401 (403 if its actor is not a peer)
whatever its body holds.
Only then is the raw activity written to the inbound queue, in a group commit with the
requests that arrive meanwhile; the caller answers 202 once that commit is on disk.
Processing happens later in the inbox worker.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from federation.activities import Activity, parse_activity
from federation.errors import ParseError, SignatureError
from federation.policy import PeerPolicy, domain_of
from federation.signatures import HttpRequestView
from federation.verify import verify_request
from inbox.intake_keys import IntakeKeys
from inbox.intake_queue import IntakeQueue, Outcome
from inbox.rate_limit import PeerRateLimit
from store.db import Database
from store.inbox_items import NewInboxItem

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
_MEDIA_TYPES = ("application/activity+json", "application/ld+json", "application/json")


class InboxRejected(Exception):
    """The request is not one we take; `status` is the HTTP answer (400, 413, 415, 429);
    `retry_after` the seconds a 429 asks the sender to wait."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Intake:
    """What accepting an activity needs; one per app (the key cache and the group commit
    live as long as it)."""

    db: Database
    keys: IntakeKeys
    queue: IntakeQueue
    policy: PeerPolicy
    max_skew: timedelta
    signature_failures: Counter[str] = field(default_factory=Counter)
    """Failed signatures per claimed actor domain, since last taken for the stored totals."""
    rate: PeerRateLimit = field(default_factory=PeerRateLimit)
    """Activities each peer domain may send (`inbox.rate_limit`)."""


def _deeper_than(value: object, limit: int) -> bool:
    """Whether JSON nests deeper than `limit` (a scalar or an empty container is 1 deep);
    only containers are walked, and deeply nested JSON is refused, not walked."""
    if isinstance(value, dict):
        children: Iterable[object] = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return limit < 1
    if limit < 2:
        return limit < 1 or bool(children)
    for child in children:
        if isinstance(child, dict | list) and _deeper_than(child, limit - 1):
            return True
    return False


def check_media(view: HttpRequestView) -> None:
    """Media type and size, before anything else: InboxRejected (415, 413) otherwise."""
    media_type = (view.header("content-type") or "").split(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise InboxRejected(415, f"content type {media_type or 'missing'} is not ActivityStreams")
    if len(view.body) > MAX_BODY_BYTES:
        raise InboxRejected(413, f"body larger than {MAX_BODY_BYTES} bytes")


def _json_object(body: bytes) -> dict[str, object]:
    try:
        document = orjson.loads(body)  # checks UTF-8 too; a few times faster than json
    except (ValueError, RecursionError) as error:
        raise InboxRejected(400, "body is not valid JSON") from error
    if not isinstance(document, dict):
        raise InboxRejected(400, "body is not a JSON object")
    return document


def parse_activity_body(body: bytes) -> Activity:
    """The request's activity, or InboxRejected (400) saying what is wrong with it."""
    document = _json_object(body)
    if _deeper_than(document, MAX_JSON_DEPTH):
        raise InboxRejected(400, "JSON nested too deeply")
    try:
        return parse_activity(document)
    except ParseError as error:
        raise InboxRejected(400, f"not an activity: {error}") from error


def _check_claimed_actor(policy: PeerPolicy, body: bytes) -> str | None:
    """For a request whose signature failed: PolicyRejected if the actor it names (a plain
    IRI, as every server sends) is not a peer, so a non-peer hears 403 as it always did.
    Returns that actor's domain, if any. Nothing more is read from a body nobody vouches for."""
    try:
        actor = _json_object(body).get("actor")
    except InboxRejected:
        return None
    if isinstance(actor, str) and actor.startswith(("https://", "http://")):
        try:
            domain = domain_of(actor)
        except ValueError:
            return None
        policy.check(domain)
        return domain
    return None


def _charge(rate: PeerRateLimit, domain: str) -> None:
    """One activity from `domain` (its signature verified): InboxRejected (429) past its rate."""
    wait = rate.take(domain)
    if wait is None:
        return
    if refused := rate.to_log(domain):
        log.warning("inbox rate limit: peer=%s refused=%d retry_after=%d", domain, refused, wait)
    raise InboxRejected(429, f"{domain} is sending too fast; retry later", retry_after=wait)


def activity_key(activity: Activity, body: bytes) -> str:
    """The idempotency key: the activity id, or a digest of the body for id-less activities
    (GoToSocial sends some Deletes without an id)."""
    if activity.id:
        return activity.id
    return "urn:sha256:" + hashlib.sha256(body).hexdigest()


async def accept_activity(
    intake: Intake, view: HttpRequestView, *, recipient_account_id: int | None, now: datetime
) -> bool:
    """Verify (as of `now`) and enqueue; True if stored, False if it was a duplicate (still
    a 202).

    Raises InboxRejected, SignatureError or PolicyRejected; nothing is written then.
    """
    check_media(view)
    for attempt in range(2):  # again if the key in memory was replaced meanwhile (read afresh)
        signer = intake.keys.signer()
        try:
            verified = await verify_request(view, signer, now=now, max_skew=intake.max_skew)
        except SignatureError:
            domain = _check_claimed_actor(intake.policy, view.body)
            intake.signature_failures[domain or "(unknown)"] += 1
            raise
        activity = parse_activity_body(view.body)
        intake.policy.check_url(activity.actor)
        if verified.owner != activity.actor:
            raise SignatureError(
                "invalid", f"signed by {verified.owner}, not by the actor {activity.actor}"
            )
        if activity.id and domain_of(activity.id) != domain_of(activity.actor):
            raise InboxRejected(400, "activity id is not on the actor's host")
        if attempt == 0:
            _charge(intake.rate, domain_of(activity.actor))
        key = activity_key(activity, view.body)
        row_id = signer.used.row_id if signer.used is not None else None
        body = view.body.decode("utf-8")  # as received (valid UTF-8), to reprocess after a fix
        item = NewInboxItem(intake.db.new_id(), key, activity.actor, recipient_account_id, body)
        outcome = await intake.queue.put(item, key_row_id=row_id)
        if outcome is not Outcome.KEY_GONE:
            break
        intake.keys.forget(verified.key_id, row_id)
    else:
        raise SignatureError("key_unavailable", f"key {verified.key_id} changed meanwhile")
    log.info(
        "activity received activity_id=%s type=%s actor=%s duplicate=%s",
        key,
        activity.type,
        activity.actor,
        outcome is Outcome.DUPLICATE,
    )
    return outcome is Outcome.STORED
