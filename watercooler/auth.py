"""Bearer tokens on requests: who is calling, with which scopes.

Scopes follow Mastodon: `read`, `write`, `follow`, `push`, `admin:read`, `admin:write`,
and granular forms (`write:statuses`) that a broader scope (`write`) includes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request

from store import tokens
from store.db import Connection
from store.in_thread import in_thread
from store.records import AccountRecord, UserRecord
from watercooler.accounts import hash_token
from watercooler.services import Services

FOLLOW_SCOPES = frozenset(
    {"read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes", "write:mutes"}
)


@dataclass(frozen=True, slots=True)
class Caller:
    user: UserRecord
    account: AccountRecord
    scopes: tuple[str, ...]
    application_id: int | None = None

    def allows(self, scope: str) -> bool:
        """Mastodon's scope hierarchy: `write:statuses` is allowed by itself or by `write`,
        `admin:read:accounts` by `admin:read`, and the relationship scopes by the legacy
        `follow`."""
        if scope in self.scopes:
            return True
        parts = scope.split(":")
        if any(":".join(parts[:n]) in self.scopes for n in range(1, len(parts))):
            return True
        return scope in FOLLOW_SCOPES and "follow" in self.scopes


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def authorize(conn: Connection, token: str, scope: str, *, now: datetime) -> Caller:
    """The caller with `token`, for a request that needs `scope`: 401 without a valid token,
    403 without the scope. Awaits only `conn`, so a request that reads more runs it in the
    same trip to the reader's thread (store.in_thread) as the rest of its reads."""
    found = await tokens.find_holder(conn, hash_token(token), now)
    if found is None:
        raise HTTPException(401, "The access token is invalid")
    record, user, account = found
    caller = Caller(
        user=user, account=account, scopes=record.scopes, application_id=record.application_id
    )
    if not caller.allows(scope):
        raise HTTPException(403, "This action is outside the authorized scopes")
    return caller


async def authenticate(request: Request, services: Services, scope: str) -> Caller:
    """`authorize` with the request's bearer token, in one trip to a reader's thread."""
    token = bearer_token(request)
    if token is None:
        raise HTTPException(401, "The access token is invalid")
    async with services.db.read() as conn:
        return await in_thread(conn, authorize, token, scope, now=services.clock())
