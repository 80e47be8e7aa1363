"""Communities as FEP-1b12 groups: the local `Group` actor and what it publishes.

A community is an account with actor_type `Group` and its own key, in the users' name space
(`/users/NAME`, `@NAME@domain`), so following, follow requests, blocks and pins work on it as
on any account. What is particular to a group is here:

- it `Announce`s each post addressed to it (in `to`/`cc`/`audience`, or mentioned) by a
  member or moderator, if the post is public, unlisted or organisation-only. The Announce
  wraps the post's `Create` as FEP-1b12 (and Lemmy) has it; it is stored as the group's
  boost, so members' home timelines, the community timeline and the group's profile all read
  it as Mastodon shows a Lemmy group. It goes to the group's members only (not relayed to the
  organisation timeline), to peers only for organisation posts, nowhere for local-only ones;
- a moderator removes a post with the group's `Undo` of that Announce (what every
  Mastodon-family server understands), and a member with the group's `Block` (Lemmy's ban);
- a moderator pins a post with the group's `Add` to its `featured` collection (`Remove` to
  unpin), as Lemmy's `stickied` and Mastodon's pins travel.

Nothing here sends: like `outbox.publish`, activities are queued in the same transaction as
the change they announce and the delivery worker sends them after commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from federation import activities
from federation.keys import generate_rsa_keypair
from federation.uris import is_valid_username
from outbox.addressing import address, boost_address, reach
from outbox.publish import ProfileChange, Publisher, PublishError
from store import (
    accounts,
    communities,
    follows,
    keys,
    notifications,
    pins,
    reactions,
    statuses,
    timelines,
)
from store.accounts import NewAccount
from store.db import Connection
from store.errors import Conflict
from store.records import AccountRecord, StatusRecord

log = logging.getLogger(__name__)

ANNOUNCED = ("public", "unlisted", "org")
"""What a group passes on: never a followers-only or direct post (it would leak)."""
MAX_COMMUNITY_PINS = 10
MAX_MODERATORS = 20
MAX_DESCRIPTION = 500
MAX_DISPLAY_NAME = 30
_TOP_LEVEL_ONLY = ("@context", "signature", "proof")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCommunity:
    """What its creator says of a community; the creator is always one of its moderators."""

    name: str
    display_name: str = ""
    description: str = ""
    approval_required: bool = False
    moderators: Sequence[AccountRecord] = ()


def is_group(account: AccountRecord) -> bool:
    return account.actor_type == "Group"


def _inbox(account: AccountRecord) -> str | None:
    return account.shared_inbox_url or account.inbox_url


def _embedded(document: Mapping[str, Any]) -> dict[str, Any]:
    """An activity as the object of another: no `@context`, no signature or proof."""
    return {k: v for k, v in document.items() if k not in _TOP_LEVEL_ONLY}


def _checked(new: NewCommunity) -> NewCommunity:
    if not is_valid_username(new.name):
        raise PublishError("A community name has 1-30 letters, digits or underscores")
    if len(new.display_name) > MAX_DISPLAY_NAME:
        raise PublishError(f"A display name has at most {MAX_DISPLAY_NAME} characters")
    if len(new.description) > MAX_DESCRIPTION:
        raise PublishError(f"A description has at most {MAX_DESCRIPTION} characters")
    if len(new.moderators) > MAX_MODERATORS:
        raise PublishError(f"A community has at most {MAX_MODERATORS} moderators")
    return new


class Communities:
    """Publishing for local communities, on top of the `Publisher` (its queue and helpers)."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.db = publisher.db
        self.uris = publisher.uris
        self.clock = publisher.clock

    def listen(self) -> None:
        """Announce local posts addressed to a local community as they are published, and
        pass their edits and deletion on."""
        self.publisher.post_hooks.append(self._on_local_post)
        self.publisher.change_hooks.append(self._pass_on)

    # ----- the community itself ----------------------------------------------------------

    async def create(self, creator: AccountRecord, new: NewCommunity) -> AccountRecord:
        """A local Group actor with its own key, its community row and moderators (the
        creator first). The name is taken from the users' name space: PublishError if used."""
        new = _checked(new)
        keypair = await asyncio.to_thread(generate_rsa_keypair)
        now, uris, name = self.clock(), self.uris, new.name
        moderators = [creator.id, *(m.id for m in new.moderators)]
        account = NewAccount(
            username=name,
            domain=None,
            uri=uris.actor(name),
            url=uris.profile(name),
            actor_type="Group",
            display_name=new.display_name or name,
            note=new.description,
            inbox_url=uris.inbox(name),
            outbox_url=uris.outbox(name),
            shared_inbox_url=uris.shared_inbox,
            followers_url=uris.followers(name),
            following_url=uris.following(name),
            featured_url=uris.featured(name),
            manually_approves_followers=new.approval_required,
        )
        try:
            async with self.db.transaction() as conn:
                group = await accounts.insert_account(conn, self.db.new_id(), account, now)
                await keys.insert_key(
                    conn,
                    self.db.new_id(),
                    account_id=group.id,
                    key_uri=uris.key_id(name),
                    public_key_pem=keypair.public_pem,
                    private_key_pem=keypair.private_pem,
                    now=now,
                )
                await communities.insert(
                    conn, group.id, creator_account_id=creator.id, moderator_ids=moderators, now=now
                )
                local = [m for m in [creator, *new.moderators] if m.is_local]
                await self._admit(conn, group, local)
        except Conflict as error:
            raise PublishError(f"The name {name!r} is taken") from error
        log.info("community created community=%s by=%s", group.uri, creator.uri)
        return group

    async def _admit(
        self, conn: Connection, group: AccountRecord, members: Sequence[AccountRecord]
    ) -> None:
        """Local moderators are members at once (remote ones join by following)."""
        for member in members:
            if await follows.is_following(conn, member.id, group.id):
                continue
            await follows.upsert(
                conn,
                self.db.new_id(),
                account_id=member.id,
                target_account_id=group.id,
                uri=self.uris.activity(member.username, "follows", self.db.new_id()),
                state=follows.ACCEPTED,
                now=self.clock(),
            )

    async def update(
        self,
        group: AccountRecord,
        *,
        display_name: str | None = None,
        description: str | None = None,
        approval_required: bool | None = None,
        moderators: Sequence[AccountRecord] | None = None,
    ) -> AccountRecord:
        """Change a community's settings (None keeps one); peers get an `Update` of the
        actor when what they show changed. There is always at least one moderator."""
        _checked(
            NewCommunity(
                name=group.username,
                display_name=display_name or "",
                description=description or "",
                moderators=moderators or (),
            )
        )
        if moderators is not None:
            if not moderators:
                raise PublishError("A community needs at least one moderator")
            async with self.db.transaction() as conn:
                await communities.set_moderators(
                    conn, group.id, [m.id for m in moderators], now=self.clock()
                )
                await self._admit(conn, group, [m for m in moderators if m.is_local])
        change = ProfileChange(
            display_name=group.display_name if display_name is None else display_name,
            note=group.note if description is None else description,
            locked=group.manually_approves_followers
            if approval_required is None
            else approval_required,
            discoverable=group.discoverable,
            actor_type="Group",
            avatar_file=group.avatar_file,
            header_file=group.header_file,
        )
        await self.publisher.update_profile(group, change)
        async with self.db.read() as conn:
            updated = await accounts.get_by_id(conn, group.id)
        assert updated is not None
        return updated

    # ----- announcing ----------------------------------------------------------------------

    async def may_announce(
        self, conn: Connection, group: AccountRecord, author: AccountRecord, status: StatusRecord
    ) -> bool:
        """Whether `group` passes `status` on: a local community, a post (not a boost) that
        is public, unlisted or organisation-only, by a member or moderator it has not
        banned. Followers-only and direct posts never: the group would show them to all."""
        if not is_group(group) or not group.is_local or group.id == author.id:
            return False
        if status.reblog_of_id is not None or status.deleted_at is not None:
            return False
        if status.visibility not in ANNOUNCED or status.account_id != author.id:
            return False
        if not await communities.is_local_community(conn, group.id):
            return False
        if await reactions.is_blocked_either_way(conn, group.id, author.id):
            return False
        return await follows.is_following(
            conn, author.id, group.id
        ) or await communities.is_moderator(conn, group.id, author.id)

    async def announce(
        self, group: AccountRecord, status: StatusRecord, inner: Mapping[str, Any]
    ) -> StatusRecord | None:
        """The group announces `status`, whose `Create` (as it was received) is `inner`;
        None when it may not or did already. For the inbox, which stores a post first."""
        async with self.db.transaction() as conn:
            author = await accounts.get_by_id(conn, status.account_id)
            if author is None or not await self.may_announce(conn, group, author, status):
                return None
            boost = await self._announce(conn, group, author, status, inner)
        self.publisher.notify()
        return boost

    async def _on_local_post(
        self,
        conn: Connection,
        author: AccountRecord,
        status: StatusRecord,
        addressed: Sequence[AccountRecord],
        create: Mapping[str, Any],
    ) -> None:
        """A local post that names local communities (a mention, or a C2S `to`): each that
        may announces it, in the post's own transaction."""
        for group in addressed:
            if is_group(group) and await self.may_announce(conn, group, author, status):
                await self._announce(conn, group, author, status, create)

    async def _announce(
        self,
        conn: Connection,
        group: AccountRecord,
        author: AccountRecord,
        status: StatusRecord,
        inner: Mapping[str, Any],
    ) -> StatusRecord | None:
        if await statuses.get_boost(conn, group.id, status.id) is not None:
            return None  # announced already (the same Create delivered twice)
        now = self.clock()
        boost_id = self.db.new_id()
        uri = self.uris.status_activity(group.username, boost_id)
        boost = await statuses.insert_boost(
            conn, boost_id, account_id=group.id, original=status, uri=uri, local=True,
            created_at=now,
        )  # fmt: skip
        await notifications.notify(
            conn,
            self.db.new_id(),
            "reblog",
            recipient_id=author.id,
            sender_id=group.id,
            status_id=status.id,
            now=now,
        )
        followers_url = group.followers_url or self.uris.followers(group.username)
        to, cc = boost_address(
            boost.visibility, followers_url=followers_url, original_author=author.uri
        )
        document = activities.announce(uri, group.uri, status.uri, to, cc, now)
        document["object"] = _embedded(inner)
        members = await follows.local_follower_ids(conn, group.id)
        await timelines.add(conn, set(members) - {author.id}, boost.id)
        inboxes = await follows.remote_follower_inboxes(conn, group.id)
        if not author.is_local:
            inboxes.append(_inbox(author) or "")
        await self.publisher._enqueue(  # the one queue, shared
            conn,
            group,
            document,
            inboxes,
            status_id=boost.id,
            object_uri=status.uri,
            scope=reach(boost.visibility, local_only=boost.local_only),
        )
        log.info("community announced community=%s status=%s", group.uri, status.uri)
        return boost

    async def pass_on(self, status: StatusRecord, change: Mapping[str, Any]) -> None:
        """A post our communities shared was edited or deleted by its author (`change`, the
        Update or Delete as received): each community passes it on to its members, as
        FEP-1b12 has a group forward its members' activities."""
        async with self.db.transaction() as conn:
            await self._pass_on(conn, status, change)
        self.publisher.notify()

    async def _pass_on(
        self, conn: Connection, status: StatusRecord, change: Mapping[str, Any]
    ) -> None:
        """`pass_on` in the caller's transaction; a Delete also ends each share (and pin)."""
        now = self.clock()
        deleted = change.get("type") == "Delete"
        for share_id, group_id in await communities.local_shares(conn, status.id):
            share = await statuses.get_by_id(conn, share_id)
            group = await accounts.get_by_id(conn, group_id)
            if share is None or group is None:
                continue
            if deleted:
                await statuses.mark_deleted(conn, share.id, now)
                await pins.unpin(conn, account_id=group.id, status_id=status.id)
            followers_url = group.followers_url or self.uris.followers(group.username)
            to, cc = address(share.visibility, followers_url=followers_url, mentioned=[])
            kind = "delete" if deleted else f"updates/{self.db.new_id()}"
            document = activities.announce(
                f"{share.uri}/{kind}", group.uri, status.uri, to, cc, now
            )
            document["object"] = _embedded(change)
            inboxes = await follows.remote_follower_inboxes(conn, group.id)
            await self.publisher._enqueue(  # the one queue, shared
                conn,
                group,
                document,
                inboxes,
                object_uri=status.uri,
                scope=reach(share.visibility, local_only=share.local_only),
            )
            log.info(
                "community passed on a change community=%s status=%s type=%s",
                group.uri,
                status.uri,
                change.get("type"),
            )

    # ----- moderation ----------------------------------------------------------------------

    async def remove_post(self, group: AccountRecord, status: StatusRecord) -> bool:
        """Take a post out of the community: the group's `Undo` of its Announce reaches every
        member's server; its pin goes too. False if the group had not announced it."""
        now = self.clock()
        async with self.db.transaction() as conn:
            boost = await statuses.get_boost(conn, group.id, status.id)
            if boost is None:
                return False
            author = await accounts.get_by_id(conn, status.account_id)
            assert author is not None
            await statuses.mark_deleted(conn, boost.id, now)
            await statuses.adjust_count(conn, status.id, "reblogs_count", -1)
            if await pins.unpin(conn, account_id=group.id, status_id=status.id):
                await self._featured_change(conn, group, status, activities.remove, "unpins")
            followers_url = group.followers_url or self.uris.followers(group.username)
            to, cc = boost_address(
                boost.visibility, followers_url=followers_url, original_author=author.uri
            )
            inner = activities.announce(boost.uri, group.uri, status.uri, to, cc, boost.created_at)
            document = activities.undo(f"{boost.uri}/undo", group.uri, inner, published=now)
            inboxes = await follows.remote_follower_inboxes(conn, group.id)
            if not author.is_local:
                inboxes.append(_inbox(author) or "")
            await self.publisher._enqueue(
                conn,
                group,
                document,
                inboxes,
                object_uri=boost.uri,
                scope=reach(boost.visibility, local_only=boost.local_only),
            )
        log.info("community removed post community=%s status=%s", group.uri, status.uri)
        self.publisher.notify()
        return True

    async def remove_member(self, group: AccountRecord, member: AccountRecord) -> bool:
        """Ban a member (Lemmy's `Block` from the group): their membership or request ends,
        their server is told, and their further posts and follows are refused."""
        if await self._moderates(group, member):
            raise PublishError("A moderator cannot be removed; change the moderators first")
        return await self.publisher.block(group, member) is not None

    async def readmit(self, group: AccountRecord, member: AccountRecord) -> bool:
        """Lift a ban (`Undo` of the Block); they may join again."""
        return await self.publisher.unblock(group, member) is not None

    async def refuse_follow(
        self, group: AccountRecord, follower: AccountRecord, follow: Mapping[str, Any] | str
    ) -> None:
        """Answer a banned account's Follow of the group with a `Reject`."""
        now = self.clock()
        async with self.db.transaction() as conn:
            answer = self.uris.activity(group.username, "rejects", self.db.new_id())
            document = activities.reject(
                answer, group.uri, follow, published=now, to=[follower.uri]
            )
            await self.publisher._enqueue(conn, group, document, [follower.inbox_url])
        self.publisher.notify()

    async def _moderates(self, group: AccountRecord, account: AccountRecord) -> bool:
        async with self.db.read() as conn:
            return await communities.is_moderator(conn, group.id, account.id)

    # ----- pins ----------------------------------------------------------------------------

    async def pin(self, group: AccountRecord, status: StatusRecord) -> bool:
        """Pin a post the community announced (`Add` to the group's featured collection);
        False if pinned already."""
        async with self.db.transaction() as conn:
            if await statuses.get_boost(conn, group.id, status.id) is None:
                raise PublishError("Only a post shared in the community can be pinned there")
            if await pins.is_pinned(conn, group.id, status.id):
                return False
            if len(await communities.pinned_ids(conn, group.id)) >= MAX_COMMUNITY_PINS:
                raise PublishError(f"A community pins at most {MAX_COMMUNITY_PINS} posts")
            await pins.pin(
                conn, self.db.new_id(), account_id=group.id, status_id=status.id, now=self.clock()
            )
            await self._featured_change(conn, group, status, activities.add, "pins")
        self.publisher.notify()
        return True

    async def unpin(self, group: AccountRecord, status: StatusRecord) -> bool:
        async with self.db.transaction() as conn:
            if not await pins.unpin(conn, account_id=group.id, status_id=status.id):
                return False
            await self._featured_change(conn, group, status, activities.remove, "unpins")
        self.publisher.notify()
        return True

    async def _featured_change(
        self,
        conn: Connection,
        group: AccountRecord,
        status: StatusRecord,
        build: Any,
        kind: str,
    ) -> None:
        """The group's Add or Remove of a post on its featured collection, for its members'
        servers, addressed as its Announce of the post was."""
        followers_url = group.followers_url or self.uris.followers(group.username)
        shown = "org" if status.visibility == "org" else "public"
        to, cc = address(shown, followers_url=followers_url, mentioned=[])
        document = build(
            self.uris.activity(group.username, kind, self.db.new_id()),
            group.uri,
            status.uri,
            group.featured_url or self.uris.featured(group.username),
            published=self.clock(),
            to=to,
            cc=cc,
        )
        inboxes = await follows.remote_follower_inboxes(conn, group.id)
        await self.publisher._enqueue(
            conn,
            group,
            document,
            inboxes,
            object_uri=status.uri,
            scope=reach(status.visibility, local_only=status.local_only),
        )
