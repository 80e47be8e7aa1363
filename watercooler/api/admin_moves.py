"""The admin API for moving an employee between divisions (a Watercooler extension: Mastodon
has no admin endpoint for it, only the owner's own settings page).

IT does the two steps of `watercooler.moves` for the employee, as `watercooler user alias` and
`watercooler user move` do: on the NEW division, `POST /api/v1/admin/accounts/:id/aliases`
(`acct`, or `uri`, the old account); on the OLD one, `POST /api/v1/admin/accounts/:id/move`
(`acct`, the new account). No password is asked, as an admin acts; the new account must list
the old one as an alias all the same. `GET` and `DELETE .../aliases` (`uri`) show and take
off aliases.

Admins only (not moderators: moving someone is IT's, like the CLI), with the
`admin:read:accounts` / `admin:write:accounts` scopes. Every change is the audit row
`watercooler.moves` writes (origin 'api'). Errors as the rest of the admin API: 403 for
non-admins, 404 for an unknown account id, 422 with the reason when the step cannot be done.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, moderation
from store.records import AccountRecord
from watercooler import moves
from watercooler.admin import Actor
from watercooler.api.admin_entities import admin_account
from watercooler.api.forms import body_params, text
from watercooler.api.pagination import MAX_ID
from watercooler.auth import authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services


async def _admin(request: Request, scope: str) -> tuple[Services, Actor, AccountRecord]:
    """Who acts (an admin, or 403) and the account the path names (or 404)."""
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    if not caller.user.admin:
        raise HTTPException(403, "This action is not allowed")
    value = request.path_params["id"]
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise HTTPException(404, "Record not found")
    async with svc.db.read() as conn:
        account = await accounts.get_by_id(conn, int(value))
    if account is None or moderation.is_instance_actor(account):
        raise HTTPException(404, "Record not found")
    return svc, Actor.of_user(caller.user, "api"), account


def _reference(params: dict[str, Any], *names: str) -> str:
    """The first of `names` given: an account as `@name@division`, `name@division` or URI."""
    for name in names:
        value = params.get(name)
        if value not in (None, ""):
            return text(value, name, limit=moves.MAX_REFERENCE).strip()
    raise HTTPException(422, f"Validation failed: {' or '.join(names)} is missing")


def _failed(error: moves.MoveError) -> HTTPException:
    return HTTPException(422, f"Validation failed: {error}")


async def _moving(svc: Services, account: AccountRecord) -> dict[str, Any]:
    """The account's aliases and where it moved: `{id, aliases, moved_to}` (a URI or null)."""
    state = await moves.moving(svc, account)
    return {
        "id": str(account.id),
        "aliases": list(state.aliases),
        "moved_to": state.moved_to.uri if state.moved_to else None,
    }


async def aliases(request: Request) -> Response:
    """`GET /api/v1/admin/accounts/:id/aliases`."""
    svc, _, account = await _admin(request, "admin:read:accounts")
    return FastJSONResponse(await _moving(svc, account))


async def add_alias(request: Request) -> Response:
    """`POST /api/v1/admin/accounts/:id/aliases` with `acct` (or `uri`): the old account."""
    svc, actor, account = await _admin(request, "admin:write:accounts")
    reference = _reference(await body_params(request), "acct", "uri")
    try:
        await moves.add_alias(svc, account, reference, actor)
    except moves.MoveError as error:
        raise _failed(error) from error
    return FastJSONResponse(await _moving(svc, account))


async def remove_alias(request: Request) -> Response:
    """`DELETE /api/v1/admin/accounts/:id/aliases` with `uri`; 404 if it was not one."""
    svc, actor, account = await _admin(request, "admin:write:accounts")
    uri = _reference(await body_params(request), "uri")
    try:
        removed = await moves.remove_alias(svc, account, uri, actor)
    except moves.MoveError as error:
        raise _failed(error) from error
    if not removed:
        raise HTTPException(404, "Record not found")
    return FastJSONResponse(await _moving(svc, account))


async def move(request: Request) -> Response:
    """`POST /api/v1/admin/accounts/:id/move` with `acct` (or `uri`): the new account. Answers
    the old account's Admin::Account, whose `account.moved` is the new one."""
    svc, actor, account = await _admin(request, "admin:write:accounts")
    reference = _reference(await body_params(request), "acct", "uri")
    try:
        await moves.move_account(svc, account, reference, actor)
    except moves.MoveError as error:
        raise _failed(error) from error
    async with svc.db.read() as conn:
        moved = await accounts.get_by_id(conn, account.id)
        assert moved is not None
        entity = await admin_account(
            conn, moved, uris=svc.uris, local_domain=svc.config.instance.domain
        )
    return FastJSONResponse(entity)


routes = [
    Route("/api/v1/admin/accounts/{id}/aliases", aliases),
    Route("/api/v1/admin/accounts/{id}/aliases", add_alias, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/aliases", remove_alias, methods=["DELETE"]),
    Route("/api/v1/admin/accounts/{id}/move", move, methods=["POST"]),
]
