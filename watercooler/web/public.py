"""The pages anyone may read, signed in or not: a local person's profile (`/@name`), one of
their posts (`/@name/ID`) and the instance's about page (`/`, `/about`).

Only what is public is shown: they read as an anonymous visitor, whoever asks. The profile
lists the posts the API's `GET /api/v1/accounts/:id/statuses` gives an anonymous caller
(`profiles.profile_posts` with no viewer: public and unlisted, as on Mastodon, whose profile
pages show unlisted posts too; never followers-only, direct, org or local-only ones, which
`can_see` refuses to no one). A post's page is for public and unlisted, not local-only,
posts (routes/statuses.py checks before calling). Each page carries OpenGraph tags for link
previews and the ActivityStreams `alternate` link; one of a person who is not discoverable,
or an unlisted post, asks search engines not to index it (`robots: noindex`, as Mastodon
does for accounts that opt out). A signed-in visitor gets a link to the full page.

The ActivityStreams content negotiation stays in watercooler/routes: these functions are its
HTML answers.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from store.errors import NotFound
from store.records import AccountRecord, StatusRecord
from watercooler.api.entities import account_entity
from watercooler.api.pagination import page_params
from watercooler.http import Gone, services
from watercooler.local import local_actor
from watercooler.web import reading
from watercooler.web.pages import error_page, render
from watercooler.web.profiles import has_own_avatar, has_own_header, pinned_posts, profile_posts
from watercooler.web.session import signed_in

DESCRIPTION_LIMIT = 300
"""`og:description`: link previews show a line or two."""
_BREAKS = re.compile(r"<br\s*/?>|</p>|</li>|</h\d>", re.IGNORECASE)


def plain_text(html: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """The text of the store's HTML (a note, a post) for a `<meta>` tag: tags dropped,
    entities decoded, one line, cut at `limit`. It is escaped again where it is put."""
    text = Markup(_BREAKS.sub(" ", html)).striptags()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def profile_page(request: Request, username: str) -> Response:
    """`/@name` for a browser: a local person's profile and public posts, paged by
    `max_id`; 404 for no one by that name, 410 for a disabled account (as the actor)."""
    svc = services(request)
    try:
        account, _ = await local_actor(svc, username)
    except NotFound:
        return await error_page(request, 404, "No one here has that name.")
    except Gone:
        return await error_page(request, 410, "This account is no longer active.")
    return await _profile(request, account)


async def _profile(request: Request, account: AccountRecord) -> Response:
    svc = services(request)
    try:
        bounds = page_params(request)
    except HTTPException as error:  # a mangled max_id
        return await error_page(request, error.status_code, str(error.detail))
    async with svc.db.read() as conn:
        entity = await account_entity(
            conn, account, uris=svc.uris, local_domain=svc.config.instance.domain
        )
    posts = await profile_posts(svc, account, None, bounds)
    here = request.url.path
    context: dict[str, Any] = {
        "account": entity,
        "has_header": has_own_header(account),
        "has_avatar": has_own_avatar(account),
        "description": plain_text(entity["note"])
        or f"Public posts of {entity['display_name'] or account.username} on {entity['url']}",
        "noindex": not account.discoverable,
        "full_page": f"/web/accounts/{account.id}",
        "visitor": await signed_in(request),
        "statuses": posts.entities,
        "pinned": await pinned_posts(svc, account, None, bounds),
        "older": f"{here}?max_id={posts.older}" if posts.older else None,
        "newest": bounds.max_id is None,
    }
    return await render(request, "public_profile.html", context, viewer=None)


def _first_image(entity: dict[str, Any]) -> str | None:
    for attachment in entity["media_attachments"]:
        if attachment["type"] == "image":
            return str(attachment["url"])
    return None


async def status_page(request: Request, author: AccountRecord, status: StatusRecord) -> Response:
    """`/@name/ID` for a browser: one public or unlisted, not local-only, post of `author`
    (the caller checked). A content warning is the preview's description: the text behind
    it never goes into a meta tag."""
    svc = services(request)
    (entity,) = await reading.entities(svc, [status], None)
    author_entity = entity["account"]
    name = author_entity["display_name"] or author_entity["username"]
    handle = f"@{author.username}@{svc.config.instance.domain}"
    hidden = bool(entity["spoiler_text"]) or entity["sensitive"]  # behind a warning: no image
    description = entity["spoiler_text"] or plain_text(entity["content"])
    if not description and (count := len(entity["media_attachments"])):
        description = "An image" if count == 1 else f"{count} images"
    context: dict[str, Any] = {
        "status": entity,
        "title": f"{name} ({handle})",
        "description": description,
        "image": (None if hidden else _first_image(entity)) or author_entity["avatar"],
        "noindex": not author.discoverable or status.visibility != "public",
        "full_page": f"/web/statuses/{status.id}",
        "profile": f"/@{author.username}",
        "visitor": await signed_in(request),
    }
    return await render(request, "public_status.html", context, viewer=None)


async def about_page(request: Request) -> Response:
    """`/` and `/about`: what this instance is and where to sign in (the first page a new
    employee sees from an e-mailed link), with the run-time name and description."""
    instance = services(request).config.instance
    paragraphs = [p.strip() for p in instance.description.replace("\r\n", "\n").split("\n\n")]
    context = {
        "description": [p for p in paragraphs if p],
        "visitor": await signed_in(request),
    }
    return await render(request, "about.html", context, viewer=None)
