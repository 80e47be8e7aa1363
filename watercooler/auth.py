"""Bearer tokens on requests: who is calling, with which scopes.

Scopes follow Mastodon: `read`, `write`, `follow`, `push`, `admin:read`, `admin:write`,
and granular forms (`write:statuses`) that a broader scope (`write`) includes.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request

from store import accounts, tokens, users
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


async def authenticate(request: Request, services: Services, scope: str) -> Caller:
    """The caller of a request that needs `scope`: 401 without a valid token, 403 without
    the scope."""
    token = bearer_token(request)
    if token is None:
        raise HTTPException(401, "The access token is invalid")
    async with services.db.read() as conn:
        record = await tokens.find_active(conn, hash_token(token), services.clock())
        user = await users.get_by_id(conn, record.user_id) if record else None
        account = await accounts.get_by_id(conn, user.account_id) if user else None
    if record is None or user is None or account is None:
        raise HTTPException(401, "The access token is invalid")
    caller = Caller(
        user=user, account=account, scopes=record.scopes, application_id=record.application_id
    )
    if not caller.allows(scope):
        raise HTTPException(403, "This action is outside the authorized scopes")
    return caller
