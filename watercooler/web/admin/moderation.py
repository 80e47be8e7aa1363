"""/web/admin/accounts: find an account (local or remote) and moderate it on its page
/web/admin/accounts/{id}: warn with a text, limit or lift the limit, suspend or unsuspend,
delete selected posts.

For admins and moderators (store.roles.may_moderate); a moderator may not act on an admin.
Every form carries the CSRF token (`read_form`) and goes through `watercooler.moderation`,
the code the admin API and the CLI use, so each change has its audit row (origin 'web').
Moderators who are not admins see only the sections they may open.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, moderation, statuses, users
from store.moderation import AccountQuery
from watercooler.admin import Actor, AdminError, Missing
from watercooler.http import services
from watercooler.moderation import ModerationActions, Moderator, NotAllowed, handle
from watercooler.web.admin.base import SECTIONS, done, field, notice, show
from watercooler.web.pages import PageError, page, read_form, require_moderator
from watercooler.web.session import WebUser

PATH = "/web/admin/accounts"
REPORTS = "/web/admin/reports"
NOTICES = {
    "warned": "{name} was warned; the warning is in their notifications.",
    "limited": "{name} is limited: their posts reach only their followers here.",
    "unlimited": "{name} is no longer limited.",
    "suspended": "{name} is suspended here.",
    "unsuspended": "{name} is no longer suspended.",
    "deleted": "The selected posts of {name} were deleted.",
    "nothing": "Nothing changed for {name}.",
}
STATUSES_SHOWN = 40


def _moderator(viewer: WebUser) -> Moderator:
    return Moderator(Actor.of_user(viewer.user, "web"), viewer.user.admin)


def _sections(viewer: WebUser) -> tuple[tuple[str, str], ...]:
    if viewer.user.admin:
        return SECTIONS if any(h == PATH for h, _ in SECTIONS) else (*SECTIONS, (PATH, "Accounts"))
    return ((PATH, "Accounts"), (REPORTS, "Reports"))


def _account_id(request: Request) -> int:
    value = request.path_params["id"]
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise PageError(404, "There is no such account.")
    return int(value)


@page
async def accounts_page(request: Request) -> Response:
    """Accounts whose name starts with the query (`name` or `name@domain`), newest first."""
    viewer = await require_moderator(request)
    wanted = request.query_params.get("q", "").strip().lstrip("@")[:320]
    found: list[dict[str, Any]] = []
    if wanted:
        name, _, domain = wanted.partition("@")
        query = AccountQuery(username=name or None, by_domain=domain or None, limit=50)
        async with services(request).db.read() as conn:
            ids = await moderation.admin_page(conn, query)
            records = await accounts.get_many(conn, ids)
            states = await moderation.of_accounts(conn, ids)
        found = [
            {"account": records[i], "handle": handle(records[i]), "state": states.get(i)}
            for i in ids
            if i in records
        ]
    context = {"query": wanted, "found": found, "sections": _sections(viewer)}
    return await show(request, "accounts.html", context, viewer=viewer)


async def _show_account(
    request: Request,
    viewer: WebUser,
    account_id: int,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    async with services(request).db.read() as conn:
        account = await accounts.get_by_id(conn, account_id)
        if account is None or moderation.is_instance_actor(account):
            raise PageError(404, "There is no such account.")
        state = await moderation.get(conn, account_id)
        warnings = await moderation.warnings_of(conn, account_id)
        posts = await statuses.get_many(
            conn, await moderation.statuses_of(conn, account_id, limit=STATUSES_SHOWN)
        )
        user = None
        if account.is_local:
            user = await users.get_by_username(conn, account.username)
    context = {
        "account": account,
        "handle": handle(account),
        "user": user,
        "state": state,
        "warnings": warnings,
        "posts": sorted(posts.values(), key=lambda s: s.id, reverse=True),
        "protected": bool(user and user.admin and not viewer.user.admin),
        "own": account.id == viewer.account.id,
        "can_export": viewer.user.admin and user is not None,
        "sections": _sections(viewer),
        "notice": notice(request, NOTICES),
        "error": error,
    }
    return await show(request, "account.html", context, viewer=viewer, status=status)


@page
async def account_page(request: Request) -> Response:
    viewer = await require_moderator(request)
    return await _show_account(request, viewer, _account_id(request))


def _acting(action: str) -> Any:
    """One form's endpoint: read the form (CSRF), act, back to the page with a notice."""

    async def endpoint(request: Request) -> Response:
        viewer = await require_moderator(request)
        form = await read_form(request)
        account_id = _account_id(request)
        by = _moderator(viewer)
        mod = ModerationActions.of(services(request))
        code = "nothing"
        try:
            if action == "warn":
                await mod.warn(by, account_id, field(form, "text", 5000))
                code = "warned"
            elif action in ("limit", "unlimit"):
                if await mod.limit(by, account_id, action == "limit"):
                    code = f"{action}ed"
            elif action == "suspend":
                if await mod.suspend(by, account_id):
                    code = "suspended"
            elif action == "unsuspend":
                if await mod.unsuspend(by, account_id):
                    code = "unsuspended"
            elif action == "delete_statuses":
                chosen = form.get("status_id", [])
                chosen = [chosen] if isinstance(chosen, str) else chosen
                ids = [int(v) for v in chosen if isinstance(v, str) and v.isdigit()]
                text = field(form, "text", 5000)
                if ids and await mod.delete_statuses(by, account_id, ids, text=text):
                    code = "deleted"
        except Missing as error:
            raise PageError(404, str(error)) from error
        except NotAllowed as error:
            raise PageError(403, str(error)) from error
        except AdminError as error:
            return await _show_account(request, viewer, account_id, status=422, error=str(error))
        async with services(request).db.read() as conn:
            account = await accounts.get_by_id(conn, account_id)
        name = handle(account) if account else ""
        return done(f"{PATH}/{account_id}", code, name)

    endpoint.__name__ = action
    return page(endpoint)


ACTIONS = ("warn", "limit", "unlimit", "suspend", "unsuspend", "delete_statuses")

routes = [
    Route(PATH, accounts_page, methods=["GET"]),
    Route(f"{PATH}/{{id}}", account_page, methods=["GET"]),
    *(Route(f"{PATH}/{{id}}/{action}", _acting(action), methods=["POST"]) for action in ACTIONS),
]
