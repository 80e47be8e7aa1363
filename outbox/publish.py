"""Local actions become activities: stored, fanned out to local readers and queued for
delivery to remote inboxes, all in one transaction (the transactional outbox).

Each public method is one thing a user does (post, edit, delete, follow, like, boost,
block and their undos). Network look-ups (mentioned remote accounts) happen before the
transaction; nothing is sent from here, the delivery worker sends after commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation import activities
from federation.objects import note_to_json
from federation.policy import PeerPolicy, domain_of
from federation.uris import Uris
from outbox.actors import actor_document
from outbox.addressing import VISIBILITIES, Reach, address, boost_address, reach
from outbox.polls import PollDraft, PollError, check_draft, insert_draft, with_poll
from outbox.questions import marks_question, note_with_question, question_tags
from outbox.remote import RemoteActors
from outbox.render import Handle, MentionTarget, extract_hashtags, extract_mentions, render_html
from outbox.to_as import acct, status_to_note
from store import (
    accounts,
    api_queries,
    conversations,
    deliveries,
    follows,
    keys,
    notifications,
    pins,
    reactions,
    statuses,
    timelines,
)
from store import activities as stored_activities
from store import media as stored_media
from store import moves as stored_moves
from store import questions as stored_questions
from store.db import Connection, Database
from store.records import AccountRecord, FollowRecord, StatusRecord
from store.statuses import NewStatus

log = logging.getLogger(__name__)

MAX_STATUS_CHARS = 5000
MAX_MEDIA_ATTACHMENTS = 4  # Mastodon's limit, announced in the instance configuration
MAX_PINNED_STATUSES = 5  # Mastodon's limit, announced in the instance configuration


class PublishError(ValueError):
    """The action cannot be done as asked (empty post, not yours, unknown visibility)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileChange:
    """A local user's profile as they save it; `fields` None keeps the fields they had.
    Avatar and header are file names under media.path (None: the default image)."""

    display_name: str
    note: str
    locked: bool
    discoverable: bool
    actor_type: str
    avatar_file: str | None
    header_file: str | None
    fields: Sequence[tuple[str, str]] | None = None


async def _profile_view(conn: Connection, account_id: int) -> tuple[Any, ...]:
    """What peers see of a local profile, to tell whether an edit changed it."""
    account = await accounts.get_by_id(conn, account_id)
    assert account is not None
    return (
        account.display_name,
        account.note,
        account.manually_approves_followers,
        account.discoverable,
        account.actor_type,
        account.avatar_file,
        account.header_file,
        tuple(await api_queries.profile_fields(conn, account_id)),
    )


@dataclass(frozen=True, slots=True)
class MediaDetails:
    """An attachment's alt text and focal point as an edit sets them; None keeps one."""

    description: str | None = None
    focus: tuple[float, float] | None = None


def _media_ids(media_ids: Sequence[int]) -> list[int]:
    unique = list(dict.fromkeys(media_ids))
    if len(unique) > MAX_MEDIA_ATTACHMENTS:
        raise PublishError(f"Cannot attach more than {MAX_MEDIA_ATTACHMENTS} files")
    return unique


RELAYED = ("public", "org")
"""Visibilities sent to every peer through the instance actors (the organisation timeline).
Unlisted posts are not: like Mastodon's relays, they stay with followers and mentions."""


PostHook = Callable[
    [Connection, AccountRecord, StatusRecord, Sequence[AccountRecord], dict[str, Any]],
    Awaitable[None],
]
"""(conn, author, status, mentioned or addressed accounts, its Create) of a new local post."""
ChangeHook = Callable[[Connection, StatusRecord, dict[str, Any]], Awaitable[None]]
"""(conn, the status as it was, its Update or Delete) of a local post edited or deleted."""


def _inbox(account: AccountRecord) -> str | None:
    """Where one server receives for this account: its shared inbox if it has one."""
    return account.shared_inbox_url or account.inbox_url


class Publisher:
    def __init__(
        self,
        db: Database,
        uris: Uris,
        clock: Callable[[], datetime],
        actors: RemoteActors,
        notify: Callable[[], None] = lambda: None,
        policy: PeerPolicy | None = None,
    ) -> None:
        """`policy` tells peers apart for organisation-only posts; without one, those are
        sent to no remote inbox at all."""
        self.db = db
        self.uris = uris
        self.clock = clock
        self.actors = actors
        self.notify = notify
        self.policy = policy
        self.domain = domain_of(uris.base_url)
        self.post_hooks: list[PostHook] = []
        """Called in a new local post's transaction (`outbox.groups`: communities announce
        the posts addressed to them)."""
        self.change_hooks: list[ChangeHook] = []
        """Called in the transaction of a local post's edit or deletion (communities pass the
        Update or Delete on to their members)."""

    # ----- helpers -------------------------------------------------------------------------

    async def _mention_targets(
        self, text: str
    ) -> tuple[dict[Handle, MentionTarget], list[AccountRecord]]:
        targets: dict[Handle, MentionTarget] = {}
        found: list[AccountRecord] = []
        for handle in extract_mentions(text):
            account = await self._resolve(handle)
            if account is None or any(a.id == account.id for a in found):
                continue
            found.append(account)
            name = account.username if account.is_local else acct(account, self.domain)
            targets[handle] = MentionTarget(account.uri, account.url or account.uri, name)
        return targets, found

    async def _resolve(self, handle: Handle) -> AccountRecord | None:
        if handle.domain is None or handle.domain in (self.domain, self.domain.split(":")[0]):
            async with self.db.read() as conn:
                return await accounts.get_local(conn, handle.username)
        return await self.actors.resolve_handle(handle.username, handle.domain)

    async def _enqueue(
        self,
        conn: Connection,
        actor: AccountRecord,
        document: dict[str, Any],
        inboxes: Iterable[str | None],
        *,
        status_id: int | None = None,
        object_uri: str | None = None,
        scope: Reach = "any",
    ) -> None:
        """Record the activity and queue one delivery per distinct remote inbox that `scope`
        admits (outbox.addressing.reach: any, peers only, or none for local-only posts)."""
        body = json.dumps(document)
        await stored_activities.insert(
            conn,
            self.db.new_id(),
            uri=document["id"],
            account_id=actor.id,
            type_=document["type"],
            object_uri=object_uri,
            status_id=status_id,
            body=body,
            now=self.clock(),
        )
        targets = sorted({inbox for inbox in inboxes if inbox and domain_of(inbox) != self.domain})
        if scope == "none":
            targets = []
        elif scope == "peers":
            is_peer = self.policy.is_peer if self.policy is not None else lambda _: False
            targets = [inbox for inbox in targets if is_peer(domain_of(inbox))]
        if targets:
            await deliveries.enqueue(
                conn,
                self.db.new_id,
                activity_uri=document["id"],
                actor_account_id=actor.id,
                inboxes=targets,
                body=body,
                now=self.clock(),
            )

    async def _audience(
        self,
        conn: Connection,
        author: AccountRecord,
        visibility: str,
        mentioned: Sequence[AccountRecord],
    ) -> tuple[set[int], list[str | None]]:
        """(local readers' account ids, remote inboxes) of a status of `author`."""
        readers = {author.id} | {a.id for a in mentioned if a.is_local}
        inboxes: list[str | None] = [_inbox(a) for a in mentioned if not a.is_local]
        if visibility != "direct":
            readers.update(await follows.local_follower_ids(conn, author.id))
            inboxes.extend(await follows.remote_follower_inboxes(conn, author.id))
        if visibility in RELAYED:
            inboxes.extend(await self._relay_inboxes(conn))
        return readers, inboxes

    async def _relay_inboxes(self, conn: Connection) -> list[str]:
        """The peers' instance actors that follow ours: through them public and org posts
        (and their boosts, edits and deletes) reach every division's organisation timeline."""
        instance = await accounts.get_instance_actor(conn)
        if instance is None:
            return []
        return await follows.remote_follower_inboxes(conn, instance.id)

    async def send_as_instance(
        self, document: dict[str, Any], *, inboxes: Sequence[str] | None = None
    ) -> None:
        """Record `document` as an activity of the instance actor and deliver it to `inboxes`,
        or by default to every peer's instance actor that follows ours (instance-to-instance
        messages such as the org manifest)."""
        async with self.db.transaction() as conn:
            instance = await accounts.get_instance_actor(conn)
            if instance is None:
                raise PublishError("the instance actor is missing")
            targets = list(inboxes) if inboxes is not None else await self._relay_inboxes(conn)
            await self._enqueue(conn, instance, document, targets)
        self.notify()

    async def _note_json(
        self, conn: Connection, status: StatusRecord, author: AccountRecord
    ) -> dict[str, Any]:
        mentioned = await self._mentioned(conn, status.id)
        note = status_to_note(
            status,
            author=author,
            mentioned=mentioned,
            tags=await statuses.tag_names(conn, status.id),
            in_reply_to_uri=status.in_reply_to_uri,
            uris=self.uris,
            media=await stored_media.for_status(conn, status.id),
        )
        note = await with_poll(conn, note, status)
        return note_to_json(await note_with_question(conn, status, note, self.uris))

    async def _attach_media(
        self, conn: Connection, author: AccountRecord, status: StatusRecord, media_ids: list[int]
    ) -> None:
        """Make the author's uploads `media_ids` the status's attachments, in this order;
        each must be free (on no other status), else PublishError and nothing changes."""
        found = await stored_media.attachable(conn, author.id, media_ids, status_id=status.id)
        if len(found) != len(media_ids):
            missing = ", ".join(str(i) for i in media_ids if i not in {m.id for m in found})
            raise PublishError(f"Media {missing} not found or already attached to another post")
        await stored_media.attach(conn, status.id, media_ids)

    async def note_json(self, status: StatusRecord) -> dict[str, Any]:
        """The Note document of a local status (served at its id)."""
        async with self.db.read() as conn:
            author = await accounts.get_by_id(conn, status.account_id)
            assert author is not None
            return await self._note_json(conn, status, author)

    # ----- statuses ------------------------------------------------------------------------

    async def post(
        self,
        author: AccountRecord,
        text: str,
        *,
        visibility: str = "public",
        spoiler_text: str = "",
        sensitive: bool = False,
        in_reply_to: StatusRecord | None = None,
        language: str | None = None,
        recipients: Sequence[AccountRecord] = (),
        media_ids: Sequence[int] = (),
        application_id: int | None = None,
        local_only: bool = False,
        question: bool = False,
        poll: PollDraft | None = None,
    ) -> StatusRecord:
        """Publish a post. `recipients` are addressed like mentions without being named in
        the text (a C2S client's `to`). `media_ids`: the author's uploads to attach, in
        order; with media the text may be empty. `application_id`: the OAuth app it was
        posted with, shown to readers as Mastodon shows it. `local_only`: the post never
        leaves this instance; a reply to a local-only post is local-only too (it would
        otherwise carry the division's talk outside). `question`: the post is a question
        (outbox.questions), as is any post tagged `#question`. `poll`: the post is a poll
        (outbox.polls), a `Question`; it cannot have media."""
        if visibility not in VISIBILITIES:
            raise PublishError(f"unknown visibility {visibility!r}")
        if author.moved_to_account_id is not None:  # as Mastodon: a moved account is redirected
            raise PublishError("this account has moved to another one and can no longer post")
        local_only = local_only or (in_reply_to is not None and in_reply_to.local_only)
        attach = _media_ids(media_ids)
        if poll is not None:
            if attach:
                raise PublishError("Cannot attach files to a post with a poll")
            try:
                check_draft(poll)
            except PollError as error:
                raise PublishError(str(error)) from error
        if not text.strip() and not attach:
            raise PublishError("a post needs text")
        if len(text) > MAX_STATUS_CHARS:
            raise PublishError(f"a post has at most {MAX_STATUS_CHARS} characters")
        targets, mentioned = await self._mention_targets(text)
        for recipient in recipients:
            if recipient.id != author.id and all(a.id != recipient.id for a in mentioned):
                mentioned.append(recipient)
        parent_author: AccountRecord | None = None
        if in_reply_to is not None:
            async with self.db.read() as conn:
                parent_author = await accounts.get_by_id(conn, in_reply_to.account_id)
            if parent_author is not None and all(a.id != parent_author.id for a in mentioned):
                if parent_author.id != author.id:
                    mentioned.append(parent_author)  # replies reach the parent's author
        tags = extract_hashtags(text)
        question = question or marks_question(tags)
        if question:
            tags = question_tags(tags)
        content = render_html(
            text, mentions=targets, tag_url=self.uris.tag, author_acct=author.username
        )
        now = self.clock()
        status_id = self.db.new_id()
        uri = self.uris.status(author.username, status_id)
        new = NewStatus(
            uri=uri,
            url=self.uris.status_url(author.username, status_id),
            account_id=author.id,
            local=True,
            visibility=visibility,
            content=content,
            text=text,
            activity_uri=self.uris.status_activity(author.username, status_id),
            in_reply_to_id=in_reply_to.id if in_reply_to else None,
            in_reply_to_uri=in_reply_to.uri if in_reply_to else None,
            in_reply_to_account_id=in_reply_to.account_id if in_reply_to else None,
            conversation_uri=(
                in_reply_to.conversation_uri
                if in_reply_to and in_reply_to.conversation_uri
                else f"{self.uris.base_url}/contexts/{status_id}"
            ),
            spoiler_text=spoiler_text,
            sensitive=sensitive or bool(spoiler_text),
            language=language,
            application_id=application_id,
            local_only=local_only,
            object_type="Question" if poll is not None else "Note",
        )
        async with self.db.transaction() as conn:
            status = await statuses.insert(conn, status_id, new, now)
            if poll is not None:
                await insert_draft(conn, self.db.new_id(), status, poll, now)
            if attach:
                await self._attach_media(conn, author, status, attach)
            await statuses.set_mentions(conn, status.id, [a.id for a in mentioned])
            await notifications.notify_mentioned(conn, self.db.new_id, status, now=now)
            await notifications.notify_subscribers(conn, self.db.new_id, status, now=now)
            await statuses.set_tags(conn, status.id, tags)
            if question:
                await stored_questions.mark(conn, status.id, now=now)
            if in_reply_to is not None:
                await statuses.adjust_count(conn, in_reply_to.id, "replies_count", 1)
            note = await self._note_json(conn, status, author)
            create = activities.create(author.uri, note)
            readers, inboxes = await self._audience(conn, author, visibility, mentioned)
            await timelines.add(conn, readers, status.id)
            await conversations.add_status(conn, self.db.new_id, status, readers, now=now)
            await self._enqueue(
                conn,
                author,
                create,
                inboxes,
                status_id=status.id,
                object_uri=uri,
                scope=reach(visibility, local_only=local_only),
            )
            for hook in self.post_hooks:
                await hook(conn, author, status, mentioned, create)
        log.info(
            "status published status=%s visibility=%s local_only=%s", uri, visibility, local_only
        )
        self.notify()
        return status

    async def edit(
        self,
        author: AccountRecord,
        status: StatusRecord,
        text: str,
        *,
        spoiler_text: str | None = None,
        sensitive: bool | None = None,
        media_ids: Sequence[int] | None = None,
        media_attributes: Mapping[int, MediaDetails] | None = None,
    ) -> dict[str, Any]:
        """Returns the Update activity. `media_ids` replaces the attachments (None keeps
        them); the text may be empty while the post has media. `media_attributes` gives
        attachments new alt text and focal points (ids not on the post are ignored)."""
        if status.account_id != author.id or status.deleted_at is not None:
            raise PublishError("only the author can edit a status")
        attach = None if media_ids is None else _media_ids(media_ids)
        if len(text) > MAX_STATUS_CHARS:
            raise PublishError("a post needs between 1 and 5000 characters")
        targets, _ = await self._mention_targets(text)
        content = render_html(
            text, mentions=targets, tag_url=self.uris.tag, author_acct=author.username
        )
        spoiler = status.spoiler_text if spoiler_text is None else spoiler_text
        now = self.clock()
        async with self.db.transaction() as conn:
            if attach is not None:
                await self._attach_media(conn, author, status, attach)
            shown = await stored_media.for_status(conn, status.id)
            if not text.strip() and not shown:
                raise PublishError("a post needs text or media")
            for media in shown:
                if media_attributes and media.id in media_attributes:
                    details = media_attributes[media.id]
                    await stored_media.update_details(
                        conn,
                        media.id,
                        description=media.description
                        if details.description is None
                        else details.description,
                        focus=details.focus or media.focus,
                    )
            if not await statuses.has_versions(conn, status.id):
                await statuses.record_version(conn, self.db.new_id(), status)  # the original
            await statuses.update_content(
                conn,
                status.id,
                content=content,
                text=text,
                spoiler_text=spoiler,
                sensitive=status.sensitive if sensitive is None else sensitive,
                name=status.name,
                edited_at=now,
            )
            tags = extract_hashtags(text)
            if marks_question(tags) or await stored_questions.get(conn, status.id):
                await stored_questions.mark(conn, status.id, now=now)  # stays a question
                tags = question_tags(tags)
            await statuses.set_tags(conn, status.id, tags)
            edited = await statuses.get_by_id(conn, status.id)
            assert edited is not None
            await statuses.record_version(conn, self.db.new_id(), edited)
            update = await self.send_update(conn, author, edited, now=now)
            await notifications.notify_edited(
                conn, self.db.new_id, edited, ref=update["id"], now=now
            )
            for changed in self.change_hooks:
                await changed(conn, status, update)
        self.notify()
        return update

    async def send_update(
        self,
        conn: Connection,
        author: AccountRecord,
        status: StatusRecord,
        *,
        now: datetime,
        also: Iterable[str | None] = (),
    ) -> dict[str, Any]:
        """Queue, in the caller's transaction, an `Update` of `status` (its Note as it now
        stands: an edit, a poll's counts, an accepted answer) to everyone the post went to,
        and to the inboxes `also` that must learn of the change without having had the post
        (a poll's remote voters, an answer's author). Returns the Update."""
        note = await self._note_json(conn, status, author)
        update = activities.update(
            author.uri, note, id=f"{status.uri}#updates/{self.db.new_id()}", published=now
        )
        mentioned = await self._mentioned(conn, status.id)
        _, inboxes = await self._audience(conn, author, status.visibility, mentioned)
        await self._enqueue(
            conn,
            author,
            update,
            [*inboxes, *also],
            status_id=status.id,
            object_uri=status.uri,
            scope=reach(status.visibility, local_only=status.local_only),
        )
        return update

    async def _mentioned(self, conn: Connection, status_id: int) -> list[AccountRecord]:
        return [
            account
            for account_id in await statuses.mentioned_account_ids(conn, status_id)
            if (account := await accounts.get_by_id(conn, account_id)) is not None
        ]

    async def delete(
        self, author: AccountRecord, status: StatusRecord, *, also: ChangeHook | None = None
    ) -> dict[str, Any] | None:
        """Delete a local post and federate the Delete; `also` runs in the same transaction
        (a moderator's audit row)."""
        if status.account_id != author.id:
            raise PublishError("only the author can delete a status")
        if status.deleted_at is not None:
            return None
        now = self.clock()
        async with self.db.transaction() as conn:
            mentioned = await self._mentioned(conn, status.id)
            to, cc = address(
                status.visibility,  # type: ignore[arg-type]
                followers_url=author.followers_url or self.uris.followers(author.username),
                mentioned=[a.uri for a in mentioned],
            )
            _, inboxes = await self._audience(conn, author, status.visibility, mentioned)
            await statuses.mark_deleted(conn, status.id, now)
            await stored_media.release(conn, status.id)  # for "delete and redraft"
            await conversations.remove_status(conn, status.id)
            if status.in_reply_to_id is not None:
                await statuses.adjust_count(conn, status.in_reply_to_id, "replies_count", -1)
            if status.reblog_of_id is not None:
                await statuses.adjust_count(conn, status.reblog_of_id, "reblogs_count", -1)
            document = activities.delete(
                author.uri, status.uri, to, cc, published=now, former_type="Note"
            )
            await self._enqueue(
                conn,
                author,
                document,
                inboxes,
                status_id=status.id,
                object_uri=status.uri,
                scope=reach(status.visibility, local_only=status.local_only),
            )
            for changed in self.change_hooks:
                await changed(conn, status, document)
            if also is not None:
                await also(conn, status, document)
        self.notify()
        return document

    # ----- the profile ---------------------------------------------------------------------

    async def update_profile(
        self, account: AccountRecord, change: ProfileChange
    ) -> dict[str, Any] | None:
        """Save a local user's profile. If anything peers show changed (names, bio, fields,
        images, locked, discoverable, bot), queue an `Update` of the actor to every remote
        follower's server; returns it, or None when nothing federated changed."""
        now = self.clock()
        async with self.db.transaction() as conn:
            before = await _profile_view(conn, account.id)
            await api_queries.update_local_profile(
                conn,
                account.id,
                display_name=change.display_name,
                note=change.note,
                locked=change.locked,
                discoverable=change.discoverable,
                actor_type=change.actor_type,
                now=now,
            )
            if change.fields is not None:
                await api_queries.replace_profile_fields(conn, account.id, change.fields)
            await accounts.set_local_images(
                conn,
                account.id,
                avatar_file=change.avatar_file,
                header_file=change.header_file,
                now=now,
            )
            after = await _profile_view(conn, account.id)
            if after == before:
                return None
            updated = await accounts.get_by_id(conn, account.id)
            key = await keys.get_for_account(conn, account.id)
            assert updated is not None and key is not None
            fields = await api_queries.profile_fields(conn, account.id)
            links = await stored_moves.actor_links(conn, account.id)
            document = activities.update(
                updated.uri,
                actor_document(updated, key, self.uris, fields=fields, links=links),
                id=f"{updated.uri}#updates/{self.db.new_id()}",
                published=now,
            )
            inboxes = await follows.remote_follower_inboxes(conn, account.id)
            await self._enqueue(conn, updated, document, inboxes, object_uri=updated.uri)
        self.notify()
        return document

    # ----- boosts and likes ----------------------------------------------------------------

    async def boost(self, account: AccountRecord, original: StatusRecord) -> StatusRecord:
        """Boost a public, unlisted or organisation-only post. The boost stays as inside as
        the post (store.statuses.insert_boost): a boost of an org post is org, addressed
        without Public and sent to peers only; of a local-only post, local-only."""
        if (
            original.visibility not in ("public", "unlisted", "org")
            or original.reblog_of_id is not None
        ):
            raise PublishError("only public, unlisted and organisation posts can be boosted")
        now = self.clock()
        async with self.db.transaction() as conn:
            existing = await statuses.get_boost(conn, account.id, original.id)
            if existing is not None:
                return existing
            original_author = await accounts.get_by_id(conn, original.account_id)
            assert original_author is not None
            status_id = self.db.new_id()
            activity_uri = self.uris.status_activity(account.username, status_id)
            boost = await statuses.insert_boost(
                conn,
                status_id,
                account_id=account.id,
                original=original,
                uri=activity_uri,
                local=True,
                created_at=now,
            )
            await notifications.notify(
                conn,
                self.db.new_id(),
                "reblog",
                recipient_id=original.account_id,
                sender_id=account.id,
                status_id=original.id,
                now=now,
            )
            followers_url = account.followers_url or self.uris.followers(account.username)
            to, cc = boost_address(
                boost.visibility, followers_url=followers_url, original_author=original_author.uri
            )
            document = activities.announce(activity_uri, account.uri, original.uri, to, cc, now)
            readers, inboxes = await self._audience(
                conn, account, boost.visibility, [original_author]
            )
            await timelines.add(conn, readers - {original_author.id}, boost.id)
            await self._enqueue(
                conn,
                account,
                document,
                inboxes,
                status_id=boost.id,
                object_uri=original.uri,
                scope=reach(boost.visibility, local_only=boost.local_only),
            )
        self.notify()
        return boost

    async def unboost(
        self, account: AccountRecord, original: StatusRecord
    ) -> dict[str, Any] | None:
        now = self.clock()
        async with self.db.transaction() as conn:
            boost = await statuses.get_boost(conn, account.id, original.id)
            if boost is None:
                return None
            original_author = await accounts.get_by_id(conn, original.account_id)
            assert original_author is not None
            await statuses.mark_deleted(conn, boost.id, now)
            await statuses.adjust_count(conn, original.id, "reblogs_count", -1)
            followers_url = account.followers_url or self.uris.followers(account.username)
            to, cc = boost_address(
                boost.visibility, followers_url=followers_url, original_author=original_author.uri
            )
            announce = activities.announce(
                boost.uri, account.uri, original.uri, to, cc, boost.created_at
            )
            document = activities.undo(f"{boost.uri}/undo", account.uri, announce, published=now)
            _, inboxes = await self._audience(conn, account, boost.visibility, [original_author])
            await self._enqueue(
                conn,
                account,
                document,
                inboxes,
                object_uri=boost.uri,
                scope=reach(boost.visibility, local_only=boost.local_only),
            )
        self.notify()
        return document

    async def like(self, account: AccountRecord, status: StatusRecord) -> dict[str, Any] | None:
        now = self.clock()
        async with self.db.transaction() as conn:
            like_id = self.db.new_id()
            uri = self.uris.activity(account.username, "likes", like_id)
            if not await reactions.add_favourite(
                conn, like_id, account_id=account.id, status_id=status.id, uri=uri, now=now
            ):
                return None
            await statuses.adjust_count(conn, status.id, "favourites_count", 1)
            await notifications.notify(
                conn,
                self.db.new_id(),
                "favourite",
                recipient_id=status.account_id,
                sender_id=account.id,
                status_id=status.id,
                now=now,
            )
            author = await accounts.get_by_id(conn, status.account_id)
            assert author is not None
            document = activities.like(uri, account.uri, status.uri, published=now, to=[author.uri])
            await self._enqueue(
                conn,
                account,
                document,
                [author.inbox_url],
                object_uri=status.uri,
                scope=reach(status.visibility, local_only=status.local_only),
            )
        self.notify()
        return document

    async def unlike(self, account: AccountRecord, status: StatusRecord) -> dict[str, Any] | None:
        now = self.clock()
        async with self.db.transaction() as conn:
            uri = await reactions.favourite_uri(conn, account.id, status.id)
            if uri is None or not await reactions.remove_favourite(conn, account.id, status.id):
                return None
            await statuses.adjust_count(conn, status.id, "favourites_count", -1)
            author = await accounts.get_by_id(conn, status.account_id)
            assert author is not None
            like = activities.like(uri, account.uri, status.uri, published=now, to=[author.uri])
            document = activities.undo(f"{uri}/undo", account.uri, like, published=now)
            await self._enqueue(
                conn,
                account,
                document,
                [author.inbox_url],
                object_uri=status.uri,
                scope=reach(status.visibility, local_only=status.local_only),
            )
        self.notify()
        return document

    # ----- pins ----------------------------------------------------------------------------

    async def pin(self, account: AccountRecord, status: StatusRecord) -> bool:
        """Pin one of the account's own posts to its profile, and tell its followers with an
        `Add` to the featured collection (as Mastodon does). False if pinned already."""
        if status.reblog_of_id is not None:
            raise PublishError("A boost cannot be pinned")
        if status.account_id != account.id:
            raise PublishError("Someone else's post cannot be pinned")
        if status.visibility not in ("public", "unlisted", "org", "private"):
            raise PublishError("Posts that are only visible to mentioned users cannot be pinned")
        now = self.clock()
        async with self.db.transaction() as conn:
            if await pins.is_pinned(conn, account.id, status.id):
                return False
            if await pins.count(conn, account.id) >= MAX_PINNED_STATUSES:
                raise PublishError("You have already pinned the maximum number of posts")
            await pins.pin(
                conn, self.db.new_id(), account_id=account.id, status_id=status.id, now=now
            )
            await self._featured_change(conn, account, status, activities.add, "pins", now)
        self.notify()
        return True

    async def unpin(self, account: AccountRecord, status: StatusRecord) -> bool:
        """Take a pin back (`Remove` from the featured collection); False if not pinned."""
        now = self.clock()
        async with self.db.transaction() as conn:
            if not await pins.unpin(conn, account_id=account.id, status_id=status.id):
                return False
            await self._featured_change(conn, account, status, activities.remove, "unpins", now)
        self.notify()
        return True

    async def _featured_change(
        self,
        conn: Connection,
        account: AccountRecord,
        status: StatusRecord,
        build: Callable[..., dict[str, Any]],
        kind: str,
        now: datetime,
    ) -> None:
        """Queue the Add or Remove of a pin for the account's remote followers, addressed as
        the post is (a followers-only post's pin goes to followers only)."""
        followers_url = account.followers_url or self.uris.followers(account.username)
        to, cc = address(status.visibility, followers_url=followers_url, mentioned=[])
        document = build(
            self.uris.activity(account.username, kind, self.db.new_id()),
            account.uri,
            status.uri,
            account.featured_url or self.uris.featured(account.username),
            published=now,
            to=to,
            cc=cc,
        )
        inboxes = await follows.remote_follower_inboxes(conn, account.id)
        await self._enqueue(
            conn,
            account,
            document,
            inboxes,
            object_uri=status.uri,
            scope=reach(status.visibility, local_only=status.local_only),
        )

    # ----- follows and blocks ------------------------------------------------------------------

    async def follow(
        self,
        follower: AccountRecord,
        target: AccountRecord,
        *,
        notify: bool | None = None,
        reblogs: bool | None = None,
    ) -> FollowRecord:
        """Follow `target`. A local target without approval is followed at once, no HTTP.
        `notify` (a `status` notification for each new post) and `reblogs` (their boosts in
        home) are the follower's own choices: None keeps the earlier choice, following again
        only changes them (nothing federates)."""
        if follower.id == target.id:
            raise PublishError("one cannot follow oneself")
        now = self.clock()
        async with self.db.transaction() as conn:
            if await reactions.is_blocked_either_way(conn, follower.id, target.id):
                raise PublishError("blocked")
            existing = await follows.get(conn, follower.id, target.id)
            if existing is not None:
                await follows.set_options(conn, existing.id, notify=notify, show_reblogs=reblogs)
                return existing
            follow_id = self.db.new_id()
            uri = self.uris.activity(follower.username, "follows", follow_id)
            auto = target.is_local and not target.manually_approves_followers
            record = await follows.upsert(
                conn,
                follow_id,
                account_id=follower.id,
                target_account_id=target.id,
                uri=uri,
                state=follows.ACCEPTED if auto else follows.PENDING,
                now=now,
            )
            await follows.set_options(conn, record.id, notify=notify, show_reblogs=reblogs)
            await notifications.notify_follow(
                conn,
                self.db.new_id(),
                target_id=target.id,
                follower_id=follower.id,
                locked=not auto,
                now=now,
            )
            if not target.is_local:
                document = activities.follow(uri, follower.uri, target.uri, published=now)
                await self._enqueue(
                    conn, follower, document, [target.inbox_url], object_uri=target.uri
                )
        self.notify()
        return record

    async def unfollow(
        self, follower: AccountRecord, target: AccountRecord
    ) -> dict[str, Any] | None:
        now = self.clock()
        async with self.db.transaction() as conn:
            record = await follows.get(conn, follower.id, target.id)
            if record is None:
                return None
            await follows.delete(conn, record.id)
            await timelines.remove_author_from(conn, follower.id, target.id)
            inner = activities.follow(
                record.uri, follower.uri, target.uri, published=record.created_at
            )
            document = activities.undo(f"{record.uri}/undo", follower.uri, inner, published=now)
            if not target.is_local:
                await self._enqueue(
                    conn, follower, document, [target.inbox_url], object_uri=target.uri
                )
        self.notify()
        return document

    async def answer_follow(
        self,
        target: AccountRecord,
        follower: AccountRecord,
        follow_document: dict[str, Any] | str,
        *,
        accept: bool,
    ) -> None:
        """Accept or reject a remote follow (or request) of a local account."""
        now = self.clock()
        async with self.db.transaction() as conn:
            record = await follows.get(conn, follower.id, target.id)
            if record is None:
                return
            if accept:
                await follows.set_state(conn, record.id, follows.ACCEPTED, now)
            else:
                await follows.delete(conn, record.id)
            answer_id = self.uris.activity(
                target.username, "accepts" if accept else "rejects", self.db.new_id()
            )
            build = activities.accept if accept else activities.reject
            document = build(
                answer_id, target.uri, follow_document, published=now, to=[follower.uri]
            )
            if not follower.is_local:
                await self._enqueue(
                    conn, target, document, [follower.inbox_url], object_uri=record.uri
                )
        self.notify()

    async def block(self, account: AccountRecord, target: AccountRecord) -> dict[str, Any] | None:
        now = self.clock()
        async with self.db.transaction() as conn:
            block_id = self.db.new_id()
            uri = self.uris.activity(account.username, "blocks", block_id)
            if not await reactions.add_block(
                conn, block_id, account_id=account.id, target_account_id=target.id, uri=uri, now=now
            ):
                return None
            for a, b in ((account, target), (target, account)):
                record = await follows.get(conn, a.id, b.id)
                if record is not None:
                    await follows.delete(conn, record.id)
                    await timelines.remove_author_from(conn, a.id, b.id)
            document = activities.block(uri, account.uri, target.uri, published=now)
            if not target.is_local:
                await self._enqueue(
                    conn, account, document, [target.inbox_url], object_uri=target.uri
                )
        self.notify()
        return document

    async def unblock(self, account: AccountRecord, target: AccountRecord) -> dict[str, Any] | None:
        now = self.clock()
        async with self.db.transaction() as conn:
            uri = await reactions.block_uri(conn, account.id, target.id)
            if uri is None:
                return None
            await reactions.remove_block(conn, account.id, target.id)
            inner = activities.block(uri, account.uri, target.uri, published=now)
            document = activities.undo(f"{uri}/undo", account.uri, inner, published=now)
            if not target.is_local:
                await self._enqueue(
                    conn, account, document, [target.inbox_url], object_uri=target.uri
                )
        self.notify()
        return document
