"""Who may call the admin API: admins, or staff (admins and holders of the moderator role,
store.roles.may_moderate), each with a token of the needed scope. 401 without a usable
token, 403 for anyone else, with Mastodon's message."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from store import roles
from watercooler.auth import Caller, authenticate
from watercooler.http import services
from watercooler.services import Services

REFUSED = "This action is not allowed"


async def admin_caller(request: Request, scope: str) -> tuple[Services, Caller]:
    """An admin's call (peers, domain blocks, retention, holds, exports, sign-in)."""
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    if not caller.user.admin:
        raise HTTPException(403, REFUSED)
    return svc, caller


async def staff_caller(request: Request, scope: str) -> tuple[Services, Caller]:
    """An admin's or a moderator's call (reports, the audit log)."""
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    async with svc.db.read() as conn:
        allowed = await roles.may_moderate(conn, caller.user)
    if not allowed:
        raise HTTPException(403, REFUSED)
    return svc, caller
