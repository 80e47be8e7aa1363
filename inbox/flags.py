"""Receiving a report from another division: `Flag` (Mastodon's, GoToSocial's).

The edge has checked the signature (the key's owner is the actor), that the Flag's id is on
the actor's host, and the peer policy. Here: only a peer's Flag is taken (in open mode a
stranger's is dropped), only the objects on OUR host count (the others are dropped: a
division reports our accounts to us, nothing else), and statuses count only with their
author. As Mastodon does, one report per reported account, attributed to the sender (the
peer's instance actor): no local reporter. A Flag naming nothing of ours changes nothing and
is logged. Each new report gets an audit row (origin 'federation', 'report.received') and an
`admin.report` notification to every admin and moderator, in one transaction.
"""

from __future__ import annotations

import logging

from federation.activities import Activity
from federation.policy import domain_of
from inbox.context import InboxContext
from store import accounts, audit, reports, statuses
from store.db import Connection
from store.records import AccountRecord, InboxItemRecord, StatusRecord

log = logging.getLogger(__name__)

MAX_OBJECTS = 100
"""A Flag naming more objects than this is cut to this many (Mastodon's reports are small)."""
COMMENT_LIMIT = 5000
"""Characters of a received comment kept (Mastodon's own limit for local reports is 1000)."""


async def _ours(
    ctx: InboxContext, conn: Connection, uris: tuple[str, ...]
) -> tuple[list[AccountRecord], list[StatusRecord]]:
    """The local accounts and local statuses among `uris`, in order; the rest is dropped."""
    found_accounts: list[AccountRecord] = []
    found_statuses: list[StatusRecord] = []
    for uri in uris[:MAX_OBJECTS]:
        name = ctx.uris.local_username(uri)
        if name is not None:
            account = await accounts.get_local(conn, name)
            if account is not None and all(a.id != account.id for a in found_accounts):
                found_accounts.append(account)
            continue
        local = ctx.uris.local_status(uri)
        status = await statuses.get_by_uri(conn, uri) if local is None else None
        if local is not None:
            status = await statuses.get_by_id(conn, local[1])
        if status is not None and status.local and status.reblog_of_id is None:
            found_statuses.append(status)
    return found_accounts, found_statuses


async def handle_flag(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    sender_domain = domain_of(activity.actor)
    policy = ctx.publisher.policy
    if policy is not None and not policy.is_peer(sender_domain):
        log.info(
            "flag dropped: not from a peer activity_id=%s peer=%s", item.activity_uri, sender_domain
        )
        return
    flag_uri = activity.id or item.activity_uri
    sender = await ctx.actors.get(activity.actor)
    if sender is None:
        log.info("flag dropped: sender unknown activity_id=%s peer=%s", flag_uri, sender_domain)
        return
    async with ctx.db.read() as conn:
        targets, named_statuses = await _ours(ctx, conn, activity.object_ids)
    if not targets:
        # Only statuses named: report their authors, as a Flag without the account means.
        for status in named_statuses:
            if all(a.id != status.account_id for a in targets):
                async with ctx.db.read() as conn:
                    author = await accounts.get_by_id(conn, status.account_id)
                if author is not None:
                    targets.append(author)
    if not targets:
        log.info(
            "flag dropped: names nothing of ours activity_id=%s peer=%s objects=%d",
            flag_uri,
            sender_domain,
            len(activity.object_ids),
        )
        return
    targets = [t for t in targets if t.suspended_at is None]  # as Mastodon: nothing to act on
    if not targets:
        log.info("flag dropped: its accounts are suspended activity_id=%s", flag_uri)
        return
    comment = (activity.content or "")[:COMMENT_LIMIT]
    now = ctx.clock()
    async with ctx.db.transaction() as conn:
        for index, target in enumerate(targets):
            status_ids = [s.id for s in named_statuses if s.account_id == target.id]
            report = await reports.create(
                conn,
                ctx.db.new_id(),
                account_id=sender.id,
                target_account_id=target.id,
                status_ids=status_ids,
                comment=comment,
                category="other",
                origin_domain=sender_domain,
                uri=flag_uri if index == 0 else f"{flag_uri}#{target.id}",
                now=now,
            )
            if report is None:
                continue  # the same Flag again: one report
            await audit.append(
                conn,
                now=now,
                actor_account_id=None,
                actor_name=sender_domain,
                action="report.received",
                target=target.username,
                details={
                    "report_id": str(report.id),
                    "flag": flag_uri,
                    "from": sender_domain,
                    "status_ids": [str(i) for i in status_ids],
                },
                origin="federation",
            )
            await reports.notify_moderators(
                conn, ctx.db.new_id, report, sender_id=sender.id, now=now
            )
            log.info(
                "flag received activity_id=%s peer=%s report_id=%d target=%s statuses=%d",
                flag_uri,
                sender_domain,
                report.id,
                target.username,
                len(status_ids),
            )
