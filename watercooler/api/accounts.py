"""Mastodon's accounts API: profiles, the signed-in user's own profile, search and lookup,
a profile's posts and follow lists, relationships, follow / block / mute and follow requests,
the block and mute lists, and the profile directory.

Account ids are our store ids as strings, remote accounts included. Scopes are Mastodon's
(watercooler.auth knows that the old `follow` scope covers follows, blocks and mutes).
Following a remote account is `requested` until its Accept arrives; following a locked
local account, until its owner authorises the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation import activities
from federation.errors import FederationError
from federation.policy import ALLOWLIST
from outbox.publish import ProfileChange, PublishError
from store import accounts, api_queries, follows, moderation, pins
from store.api_timelines import Page
from store.db import Connection
from store.records import AccountRecord
from watercooler.api.entities import (
    MAX_PROFILE_FIELDS,
    account_entities,
    account_entity,
    credential_account_entity,
    iso,
    relationship_entity,
    suspended_account,
)
from watercooler.api.forms import body_params, flag
from watercooler.api.media import Upload, store_upload, upload_params
from watercooler.api.pagination import int_param, page_params, paged_response
from watercooler.api.timelines import answer_statuses
from watercooler.auth import Caller, authenticate, bearer_token
from watercooler.http import FastJSONResponse, services
from watercooler.media import Purpose
from watercooler.services import Services
from watercooler.visibility import DEFAULT_VISIBILITIES, default_visibility

ACCOUNT_LIST_LIMIT = 40
ACCOUNT_LIST_MAX = 80
MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
MAX_FIELD_TEXT = 255
MAX_RELATIONSHIP_IDS = 100
MAX_MUTE_SECONDS = 10 * 365 * 86400
_FIELD_KEY = re.compile(r"^fields_attributes\[(\d{1,3})\]\[(name|value)\]$")
_NOT_ALLOWED = "This action is not allowed"


def _not_found() -> HTTPException:
    return HTTPException(404, "Record not found")


async def _caller(request: Request, svc: Services, *scopes: str) -> Caller:
    """The caller, if their token has any one of `scopes` (Mastodon's own profile accepts
    `read:accounts` or the newer `profile`)."""
    refused: HTTPException | None = None
    for scope in scopes:
        try:
            return await authenticate(request, svc, scope)
        except HTTPException as error:
            if error.status_code != 403:
                raise
            refused = error
    assert refused is not None
    raise refused


async def _viewer(request: Request, svc: Services, scope: str = "read:accounts") -> Caller | None:
    """The caller of a public endpoint: none without a token; a bad token is still a 401."""
    return await authenticate(request, svc, scope) if bearer_token(request) else None


def _parse_id(value: Any) -> int | None:
    text = str(value).strip()
    if not text.isdigit() or int(text) >= 2**63:
        return None
    return int(text)


async def _available(conn: Connection, account_id: int | None) -> AccountRecord | None:
    if account_id is None or not await api_queries.is_available(conn, account_id):
        return None
    return await accounts.get_by_id(conn, account_id)


async def account_or_404(svc: Services, raw_id: str) -> AccountRecord:
    """The available account of a path's id (not suspended, not disabled), or Mastodon's 404."""
    async with svc.db.read() as conn:
        account = await _available(conn, _parse_id(raw_id))
    if account is None:
        raise _not_found()
    return account


async def _entity(conn: Connection, svc: Services, account: AccountRecord) -> dict[str, Any]:
    return await account_entity(
        conn, account, uris=svc.uris, local_domain=svc.config.instance.domain
    )


async def _suspended_here(conn: Connection, account: AccountRecord | None) -> bool:
    """Whether this division's moderators suspended `account`: its profile answers Mastodon's
    blanked entity (`suspended_account`) and empty lists, where other paths answer 404."""
    if account is None or moderation.is_instance_actor(account):
        return False
    return (await moderation.get(conn, account.id)).suspended


async def _profile(svc: Services, raw_id: str) -> tuple[AccountRecord, bool]:
    """A profile path's account and whether it is suspended here (`_suspended_here`); 404
    for the unknown and the otherwise unavailable (disabled, deleted)."""
    account_id = _parse_id(raw_id)
    async with svc.db.read() as conn:
        account = await _available(conn, account_id)
        if account is not None:
            return account, False
        found = await accounts.get_by_id(conn, account_id) if account_id is not None else None
        if found is None or not await _suspended_here(conn, found):
            raise _not_found()
    return found, True


async def _profile_entity(svc: Services, account: AccountRecord, suspended: bool) -> Response:
    async with svc.db.read() as conn:
        entity = await _entity(conn, svc, account)
    return FastJSONResponse(suspended_account(entity, svc.uris) if suspended else entity)


async def _available_many(conn: Connection, account_ids: Iterable[int]) -> list[AccountRecord]:
    """`_available` of each id, in order, the unavailable left out: two statements."""
    ids = list(account_ids)
    available = await api_queries.available_ids(conn, ids)
    found = await accounts.get_many(conn, [i for i in ids if i in available])
    return [found[i] for i in ids if i in found]


async def _entities(svc: Services, account_ids: Iterable[int]) -> list[dict[str, Any]]:
    async with svc.db.read() as conn:
        found = await _available_many(conn, account_ids)
        return await account_entities(
            conn, found, uris=svc.uris, local_domain=svc.config.instance.domain
        )


async def _relationship(svc: Services, caller: Caller, target_id: int) -> Response:
    async with svc.db.read() as conn:
        entity = await relationship_entity(conn, caller.account.id, target_id, now=svc.clock())
    return FastJSONResponse(entity)


def _account_page_params(request: Request) -> Any:
    return page_params(request, default=ACCOUNT_LIST_LIMIT, maximum=ACCOUNT_LIST_MAX)


def _ids_param(request: Request) -> list[int]:
    raw = request.query_params.getlist("id[]") + request.query_params.getlist("id")
    ids = [parsed for value in raw if (parsed := _parse_id(value)) is not None]
    return list(dict.fromkeys(ids))[:MAX_RELATIONSHIP_IDS]


# ----- the signed-in user --------------------------------------------------------------------


async def _credential_response(svc: Services, caller: Caller) -> Response:
    async with svc.db.read() as conn:
        account = await accounts.get_by_id(conn, caller.account.id)
        assert account is not None
        privacy = await default_visibility(conn, account.id, svc.config.instance.default_visibility)
        entity = await credential_account_entity(
            conn,
            account,
            caller.user,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            privacy=privacy,
        )
    return FastJSONResponse(entity)


async def verify_credentials(request: Request) -> Response:
    svc = services(request)
    caller = await _caller(request, svc, "read:accounts", "profile")
    return await _credential_response(svc, caller)


def _text(params: dict[str, Any], name: str, limit: int) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HTTPException(422, f"Validation failed: {name} must be text")
    if len(value) > limit:
        raise HTTPException(422, f"Validation failed: {name} is longer than {limit} characters")
    return value


def _fields(params: dict[str, Any]) -> list[tuple[str, str]] | None:
    """`fields_attributes` as a JSON list or `{"0": {...}}` object, or as indexed form keys
    (`fields_attributes[0][name]`); None when not sent. Empty pairs are dropped."""
    raw = params.get("fields_attributes")
    entries: list[Any]
    if isinstance(raw, list):
        entries = raw
    elif isinstance(raw, dict):
        try:
            entries = [raw[key] for key in sorted(raw, key=int)]
        except ValueError:
            raise HTTPException(422, "Validation failed: fields_attributes keys") from None
    else:
        indexed: dict[int, dict[str, Any]] = {}
        for key, value in params.items():
            if match := _FIELD_KEY.match(key):
                indexed.setdefault(int(match.group(1)), {})[match.group(2)] = value
        if not indexed:
            return None
        entries = [indexed[index] for index in sorted(indexed)]
    fields = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise HTTPException(422, "Validation failed: each field needs a name and a value")
        name, value = entry.get("name") or "", entry.get("value") or ""
        if not isinstance(name, str) or not isinstance(value, str):
            raise HTTPException(422, "Validation failed: field names and values are text")
        if len(name) > MAX_FIELD_TEXT or len(value) > MAX_FIELD_TEXT:
            raise HTTPException(
                422, f"Validation failed: a field has at most {MAX_FIELD_TEXT} characters"
            )
        if name.strip() or value.strip():
            fields.append((name.strip(), value.strip()))
    if len(fields) > MAX_PROFILE_FIELDS:
        raise HTTPException(422, f"Validation failed: at most {MAX_PROFILE_FIELDS} fields")
    return fields


def _privacy(params: dict[str, Any]) -> str | None:
    """`source[privacy]` (a form key, or `source: {privacy}` in JSON): the user's default
    visibility, `org` included; None when not sent."""
    source = params.get("source")
    value = source.get("privacy") if isinstance(source, dict) else params.get("source[privacy]")
    if value in (None, ""):
        return None
    if value not in DEFAULT_VISIBILITIES:
        raise HTTPException(422, f"Validation failed: privacy {value!r} is not valid")
    return str(value)


@dataclass(frozen=True, slots=True)
class CredentialsChange:
    """A checked change of the signed-in user's own profile (None: keep what they have): what
    `PATCH update_credentials` and the web settings pages both save."""

    display_name: str | None = None
    note: str | None = None
    fields: list[tuple[str, str]] | None = None
    locked: bool | None = None
    discoverable: bool | None = None
    bot: bool | None = None
    avatar: Upload | None = None
    header: Upload | None = None
    privacy: str | None = None


def _optional_flag(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    return None if value in (None, "") else flag(value)


def read_credentials_change(params: dict[str, Any], files: dict[str, Upload]) -> CredentialsChange:
    """update_credentials' parameters (Mastodon's names) checked: 422 for a bad one, before
    anything is saved."""
    if any(params.get(name) not in (None, "") for name in ("avatar", "header")):
        raise HTTPException(422, "Validation failed: avatar and header must be image files")
    return CredentialsChange(
        display_name=_text(params, "display_name", MAX_DISPLAY_NAME),
        note=_text(params, "note", MAX_NOTE),
        fields=_fields(params),
        locked=_optional_flag(params, "locked"),
        discoverable=_optional_flag(params, "discoverable"),
        bot=flag(params["bot"]) if "bot" in params else None,
        avatar=files.get("avatar"),
        header=files.get("header"),
        privacy=_privacy(params),
    )


async def save_credentials(svc: Services, me: AccountRecord, change: CredentialsChange) -> None:
    """Save a change of `me`'s profile: images through the media processing (an avatar is
    cropped square to 400 pixels, a header fitted in 1500x500), the profile through the
    publisher, which sends peers an `Update` of the actor when what they show changed."""
    actor_type = me.actor_type
    if change.bot is not None and actor_type in ("Person", "Service"):
        actor_type = "Service" if change.bot else "Person"
    images: dict[str, str] = {}
    for name, upload, purpose in (
        ("avatar", change.avatar, Purpose.AVATAR),
        ("header", change.header, Purpose.HEADER),
    ):
        if upload is not None:  # written before the profile row names it
            images[name] = (await store_upload(svc, upload, purpose)).file_name
    await svc.publisher.update_profile(
        me,
        ProfileChange(
            display_name=me.display_name
            if change.display_name is None
            else change.display_name.strip(),
            note=me.note if change.note is None else change.note,
            locked=me.manually_approves_followers if change.locked is None else change.locked,
            discoverable=me.discoverable if change.discoverable is None else change.discoverable,
            actor_type=actor_type,
            avatar_file=images.get("avatar", me.avatar_file),
            header_file=images.get("header", me.header_file),
            fields=change.fields,
        ),
    )
    if change.privacy is not None:
        async with svc.db.transaction() as conn:
            await accounts.set_default_visibility(conn, me.id, change.privacy)


async def update_credentials(request: Request) -> Response:
    """Display name, bio, locked, bot, discoverable, profile fields, `source[privacy]`, and
    the `avatar` and `header` images (multipart files); see `save_credentials`."""
    svc = services(request)
    caller = await _caller(request, svc, "write:accounts")
    params, files = await upload_params(request)
    await save_credentials(svc, caller.account, read_credentials_change(params, files))
    return await _credential_response(svc, caller)


# ----- finding accounts ----------------------------------------------------------------------


def _split_handle(text: str, local_domain: str) -> tuple[str, str | None]:
    """`@name@domain` or `name@domain` or `name` -> (name, remote domain or None)."""
    name, _, domain = text.strip().removeprefix("@").partition("@")
    domain = domain.strip().lower()
    return name.strip(), (domain if domain and domain != local_domain else None)


async def _resolve(svc: Services, name: str, domain: str) -> AccountRecord | None:
    """A remote account by handle, through WebFinger when we do not know it yet; peer policy
    applies (a domain we may not reach resolves to nothing)."""
    try:
        found = await svc.actors.resolve_handle(name, domain)
    except FederationError:
        return None
    if found is None:
        return None
    async with svc.db.read() as conn:
        return await _available(conn, found.id)


async def lookup_account(svc: Services, text: str) -> AccountRecord | None:
    """The account of a handle (`name`, `name@domain`, `@name@domain`), if available; a
    remote one not known yet through WebFinger (`_resolve`): the API's lookup and the
    pages' `/web/@acct`."""
    name, domain = _split_handle(text, svc.config.instance.domain)
    if domain is None:
        async with svc.db.read() as conn:
            local = await accounts.get_local(conn, name)
            return await _available(conn, local.id if local else None)
    return await _resolve(svc, name, domain)


async def lookup(request: Request) -> Response:
    svc = services(request)
    await _viewer(request, svc)
    text = request.query_params.get("acct", "").strip()
    if not text:
        raise HTTPException(400, "Missing parameter: acct")
    account = await lookup_account(svc, text)
    if account is not None:
        return await _profile_entity(svc, account, False)
    name, domain = _split_handle(text, svc.config.instance.domain)
    async with svc.db.read() as conn:
        if domain is None:
            found = await accounts.get_local(conn, name)
        else:
            found = await accounts.get_by_username_domain(conn, name, domain)
        if found is None or not await _suspended_here(conn, found):
            raise _not_found()
    return await _profile_entity(svc, found, True)


async def search(request: Request) -> Response:
    """Accounts by the prefixes of words of their name or display name, or of the
    department or title of people in the directory, here and on every peer (synced); all
    words must match. `resolve=true` looks `@name@domain` up on its instance (WebFinger)
    when we do not know it."""
    svc = services(request)
    caller = await _caller(request, svc, "read:accounts")
    q = request.query_params.get("q", "").strip()
    if not q:
        raise HTTPException(400, "Missing parameter: q")
    limit = int_param(request, "limit", ACCOUNT_LIST_LIMIT, maximum=ACCOUNT_LIST_MAX)
    offset = int_param(request, "offset", 0, maximum=10_000, minimum=0)
    following = flag(request.query_params.get("following"))
    name, domain = _split_handle(q, svc.config.instance.domain)
    local_only = "@" in q.strip().removeprefix("@") and domain is None
    found: list[int] = []
    if domain and name and flag(request.query_params.get("resolve")) and offset == 0:
        resolved = await _resolve(svc, name, domain)
        if resolved is not None:
            found.append(resolved.id)
    if name:
        async with svc.db.read() as conn:
            found += await api_queries.search_account_ids(
                conn,
                name,
                domain=domain,
                local_only=local_only,
                following_of=caller.account.id if following else None,
                limit=limit,
                offset=offset,
                peers_only=svc.policy.mode == ALLOWLIST,
            )
    return FastJSONResponse(await _entities(svc, list(dict.fromkeys(found))[:limit]))


async def directory_accounts(
    svc: Services,
    *,
    local_only: bool,
    order: str,
    offset: int,
    limit: int,
    department: str | None,
) -> list[dict[str, Any]]:
    """The directory's people (checked parameters), as entities: the API's list and the web
    page's. `order` is one of api_queries.DIRECTORY_ORDERS."""
    async with svc.db.read() as conn:
        ids = await api_queries.directory_ids(
            conn,
            local_only=local_only,
            order=order,
            offset=offset,
            limit=limit,
            department=department,
            peers_only=svc.policy.mode == ALLOWLIST,
        )
    return await _entities(svc, ids)


async def directory(request: Request) -> Response:
    """The profile directory: discoverable people here and, unless `local=true`, those of
    every peer (kept in sync, watercooler.directory_sync). `department` (our extension)
    keeps those whose Department field is that one, case-insensitively."""
    svc = services(request)
    await _viewer(request, svc)
    order = request.query_params.get("order", "active")
    if order not in api_queries.DIRECTORY_ORDERS:
        raise HTTPException(400, "order must be 'active' or 'new'")
    department = request.query_params.get("department", "").strip() or None
    if department is not None and len(department) > MAX_FIELD_TEXT:
        raise HTTPException(400, f"department has at most {MAX_FIELD_TEXT} characters")
    found = await directory_accounts(
        svc,
        local_only=flag(request.query_params.get("local")),
        order=order,
        offset=int_param(request, "offset", 0, maximum=1_000_000, minimum=0),
        limit=int_param(request, "limit", ACCOUNT_LIST_LIMIT, maximum=ACCOUNT_LIST_MAX),
        department=department,
    )
    return FastJSONResponse(found)


# ----- one account ---------------------------------------------------------------------------


async def get_account(request: Request) -> Response:
    svc = services(request)
    await _viewer(request, svc)
    return await _profile_entity(svc, *await _profile(svc, request.path_params["id"]))


@dataclass(frozen=True, slots=True)
class ProfileFilter:
    """Which of a profile's posts a list asks for (the account-statuses parameters)."""

    pinned: bool = False
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    tagged: str | None = None
    only_media: bool = False


async def profile_status_ids(
    svc: Services,
    account: AccountRecord,
    viewer: int | None,
    page: Page,
    wanted: ProfileFilter = ProfileFilter(),
) -> list[int]:
    """The ids of a page of a profile's posts the viewer (None: anonymous) may be shown:
    public and unlisted for anyone, org too for a signed-in user, followers-only too for
    followers, everything for the owner, and those that mention the viewer (as Mastodon);
    nothing for an account that blocks the viewer.
    Each is still to be checked with `can_see` (`visible_page` does): the API's list and
    the profile pages'."""
    async with svc.db.read() as conn:
        if viewer is not None and viewer != account.id:
            relation = await api_queries.relation(conn, account.id, viewer, svc.clock())
            if relation.blocking:
                return []
        if viewer == account.id:
            visibilities: tuple[str, ...] = ("public", "unlisted", "org", "private", "direct")
        elif viewer is not None and await follows.is_following(conn, viewer, account.id):
            visibilities = ("public", "unlisted", "org", "private")
        elif viewer is not None:  # a signed-in local user: the organisation's posts too
            visibilities = ("public", "unlisted", "org")
        else:
            visibilities = ("public", "unlisted")
        if wanted.pinned:
            return await pins.pinned_ids(conn, account.id, visibilities=visibilities, page=page)
        return await api_queries.account_status_ids(
            conn,
            account.id,
            page,
            visibilities=visibilities,
            exclude_replies=wanted.exclude_replies,
            exclude_reblogs=wanted.exclude_reblogs,
            tagged=wanted.tagged,
            only_media=wanted.only_media,
            mentioning=viewer if viewer is not None and viewer != account.id else None,
        )


async def account_statuses(request: Request) -> Response:
    """A profile's posts as the viewer may see them (`profile_status_ids`). `pinned=true`:
    the pinned ones, latest pin first. `only_media=true`: posts with media attachments (no
    boosts). The viewer's `account` filters mark (or, `hide`, leave out) statuses."""
    svc = services(request)
    caller = await _viewer(request, svc, "read:statuses")
    viewer = caller.account.id if caller else None
    account, suspended = await _profile(svc, request.path_params["id"])
    if suspended:  # Mastodon's: the profile shows, its posts do not
        return FastJSONResponse([])
    page = page_params(request)
    query = request.query_params
    wanted = ProfileFilter(
        pinned=flag(query.get("pinned")),
        exclude_replies=flag(query.get("exclude_replies")),
        exclude_reblogs=flag(query.get("exclude_reblogs")),
        tagged=query.get("tagged", "").strip().removeprefix("#") or None,
        only_media=flag(query.get("only_media")),
    )
    ids = await profile_status_ids(svc, account, viewer, page, wanted)
    return await answer_statuses(request, svc, ids, page, viewer, context="account")


async def _follow_list(request: Request, *, followers: bool) -> Response:
    svc = services(request)
    await _viewer(request, svc)
    account, suspended = await _profile(svc, request.path_params["id"])
    if suspended:
        return FastJSONResponse([])
    page = _account_page_params(request)
    async with svc.db.read() as conn:
        rows = await api_queries.follow_page(conn, account.id, page, followers=followers)
    entities = await _entities(svc, [account_id for _, account_id in rows])
    return paged_response(
        request, svc.config.instance.base_url, entities, [row_id for row_id, _ in rows], page
    )


async def followers(request: Request) -> Response:
    return await _follow_list(request, followers=True)


async def following(request: Request) -> Response:
    return await _follow_list(request, followers=False)


async def relationships(request: Request) -> Response:
    svc = services(request)
    caller = await _caller(request, svc, "read:follows")
    result = []
    async with svc.db.read() as conn:
        for account_id in _ids_param(request):
            if await _available(conn, account_id) is not None:
                result.append(
                    await relationship_entity(conn, caller.account.id, account_id, now=svc.clock())
                )
    return FastJSONResponse(result)


async def familiar_followers(request: Request) -> Response:
    """For each account: the accounts the caller follows that follow it."""
    svc = services(request)
    caller = await _caller(request, svc, "read:follows")
    result = []
    for account_id in _ids_param(request):
        async with svc.db.read() as conn:
            if await _available(conn, account_id) is None:
                continue
            ids = await api_queries.familiar_follower_ids(
                conn, caller.account.id, account_id, limit=ACCOUNT_LIST_LIMIT
            )
        result.append({"id": str(account_id), "accounts": await _entities(svc, ids)})
    return FastJSONResponse(result)


# ----- follow, block, mute -------------------------------------------------------------------


async def _acting(request: Request, *scopes: str) -> tuple[Services, Caller, AccountRecord]:
    svc = services(request)
    caller = await _caller(request, svc, *scopes)
    target = await account_or_404(svc, request.path_params["id"])
    return svc, caller, target


async def follow(request: Request) -> Response:
    """Follow (or ask to). `notify` (a notification on each new post) and `reblogs` (their
    boosts in home) are the follower's choices, changed by following again; a parameter not
    sent keeps the earlier choice. `languages` is accepted and not applied."""
    svc, caller, target = await _acting(request, "write:follows")
    params = await body_params(request)
    await follow_account(
        svc,
        caller.account,
        target,
        notify=flag(params["notify"]) if "notify" in params else None,
        reblogs=flag(params["reblogs"], True) if "reblogs" in params else None,
    )
    return await _relationship(svc, caller, target.id)


async def follow_account(
    svc: Services,
    me: AccountRecord,
    target: AccountRecord,
    *,
    notify: bool | None = None,
    reblogs: bool | None = None,
) -> None:
    """Follow `target` (or ask to: a locked account, any remote one until its Accept) through
    the publisher, which sends a remote one the Follow; 403 for oneself or across a block.
    The API's follow and the profile page's button."""
    if target.id == me.id:
        raise HTTPException(403, _NOT_ALLOWED)
    try:
        await svc.publisher.follow(me, target, notify=notify, reblogs=reblogs)
    except PublishError as error:
        raise HTTPException(403, _NOT_ALLOWED) from error


async def unfollow(request: Request) -> Response:
    svc, caller, target = await _acting(request, "write:follows")
    await svc.publisher.unfollow(caller.account, target)
    return await _relationship(svc, caller, target.id)


async def block(request: Request) -> Response:
    svc, caller, target = await _acting(request, "write:blocks")
    if target.id == caller.account.id:
        raise HTTPException(403, _NOT_ALLOWED)
    await svc.publisher.block(caller.account, target)
    return await _relationship(svc, caller, target.id)


async def unblock(request: Request) -> Response:
    svc, caller, target = await _acting(request, "write:blocks")
    await svc.publisher.unblock(caller.account, target)
    return await _relationship(svc, caller, target.id)


async def mute(request: Request) -> Response:
    """Mute (`notifications`: also their notifications, default true; `duration`: seconds,
    0 for ever). Mutes are private: nothing federates."""
    svc, caller, target = await _acting(request, "write:mutes")
    if target.id == caller.account.id:
        raise HTTPException(403, _NOT_ALLOWED)
    params = await body_params(request)
    raw_duration = params.get("duration")
    seconds = 0 if raw_duration in (None, "") else _parse_id(raw_duration)
    if seconds is None or seconds > MAX_MUTE_SECONDS:
        raise HTTPException(422, "Validation failed: duration is a number of seconds")
    now = svc.clock()
    async with svc.db.transaction() as conn:
        await api_queries.add_mute(
            conn,
            svc.db.new_id(),
            account_id=caller.account.id,
            target_account_id=target.id,
            notifications=flag(params.get("notifications"), True),
            expires_at=now + timedelta(seconds=seconds) if seconds else None,
            now=now,
        )
    return await _relationship(svc, caller, target.id)


async def unmute(request: Request) -> Response:
    svc, caller, target = await _acting(request, "write:mutes")
    async with svc.db.transaction() as conn:
        await api_queries.remove_mute(conn, caller.account.id, target.id)
    return await _relationship(svc, caller, target.id)


# ----- follow requests, blocks and mutes lists -----------------------------------------------


async def follow_requests(request: Request) -> Response:
    svc = services(request)
    caller = await _caller(request, svc, "read:follows")
    page = _account_page_params(request)
    async with svc.db.read() as conn:
        rows = await api_queries.follow_request_page(conn, caller.account.id, page)
    entities = await _entities(svc, [account_id for _, account_id in rows])
    return paged_response(
        request, svc.config.instance.base_url, entities, [row_id for row_id, _ in rows], page
    )


async def answer_follow_request(
    svc: Services, me: AccountRecord, follower: AccountRecord, *, accept: bool
) -> None:
    """Authorise or reject `follower`'s pending request through the publisher (which answers
    a remote follower's Follow); 404 when there is none: the API's and the pages' answer."""
    async with svc.db.read() as conn:
        record = await follows.get(conn, follower.id, me.id)
    if record is None or record.state != follows.PENDING:
        raise _not_found()
    follow_document = activities.follow(
        record.uri, follower.uri, me.uri, published=record.created_at
    )
    await svc.publisher.answer_follow(me, follower, follow_document, accept=accept)


async def _answer_request(request: Request, *, accept: bool) -> Response:
    """Authorise or reject a pending follow request from the account `id`."""
    svc, caller, follower = await _acting(request, "write:follows")
    await answer_follow_request(svc, caller.account, follower, accept=accept)
    return await _relationship(svc, caller, follower.id)


async def authorize_request(request: Request) -> Response:
    return await _answer_request(request, accept=True)


async def reject_request(request: Request) -> Response:
    return await _answer_request(request, accept=False)


async def blocks(request: Request) -> Response:
    svc = services(request)
    caller = await _caller(request, svc, "read:blocks")
    page = _account_page_params(request)
    async with svc.db.read() as conn:
        rows = await api_queries.block_page(conn, caller.account.id, page)
    entities = await _entities(svc, [account_id for _, account_id in rows])
    return paged_response(
        request, svc.config.instance.base_url, entities, [row_id for row_id, _ in rows], page
    )


async def mutes(request: Request) -> Response:
    """Muted accounts, each with `mute_expires_at` (null for an indefinite mute)."""
    svc = services(request)
    caller = await _caller(request, svc, "read:mutes")
    page = _account_page_params(request)
    async with svc.db.read() as conn:
        rows = await api_queries.mute_page(conn, caller.account.id, page, svc.clock())
        found = await _available_many(conn, [account_id for _, account_id, _ in rows])
        entities = await account_entities(
            conn, found, uris=svc.uris, local_domain=svc.config.instance.domain
        )
    expiries = {account_id: expires_at for _, account_id, expires_at in rows}
    for entity in entities:
        expires_at = expiries[int(entity["id"])]
        entity["mute_expires_at"] = iso(expires_at) if expires_at else None
    return paged_response(
        request, svc.config.instance.base_url, entities, [row[0] for row in rows], page
    )


routes = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/relationships", relationships),
    Route("/api/v1/accounts/familiar_followers", familiar_followers),
    Route("/api/v1/accounts/lookup", lookup),
    Route("/api/v1/accounts/search", search),
    Route("/api/v1/accounts/{id}", get_account),
    Route("/api/v1/accounts/{id}/statuses", account_statuses),
    Route("/api/v1/accounts/{id}/followers", followers),
    Route("/api/v1/accounts/{id}/following", following),
    Route("/api/v1/accounts/{id}/follow", follow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/block", block, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unblock", unblock, methods=["POST"]),
    Route("/api/v1/accounts/{id}/mute", mute, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unmute", unmute, methods=["POST"]),
    Route("/api/v1/follow_requests", follow_requests),
    Route("/api/v1/follow_requests/{id}/authorize", authorize_request, methods=["POST"]),
    Route("/api/v1/follow_requests/{id}/reject", reject_request, methods=["POST"]),
    Route("/api/v1/blocks", blocks),
    Route("/api/v1/mutes", mutes),
    Route("/api/v1/directory", directory),
]
