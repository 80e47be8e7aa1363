"""The admin API for single sign-on identities (a Watercooler extension, as Mastodon has no
OpenID Connect admin endpoints): which IdP identities sign in as which local users, and IT's
explicit link and unlink, the same as `watercooler sso list/link/unlink`.

- `GET /api/v1/admin/sso/identities` (optionally `?account_id=`): every identity, by username.
- `POST /api/v1/admin/sso/identities` with `account_id` and `subject`: the identity `subject`
  at the configured `[oidc] issuer` now signs in as that account's user.
- `DELETE /api/v1/admin/sso/identities` with `account_id` and `subject` (in the query or the
  body), and `issuer` when it is not the configured one (an IdP's URL before a migration): it
  no longer does. The identity's key is (issuer, subject), so it is named by them,
  as the CLI names it, rather than by an id of our own.

Admins only, with the `admin:read:accounts` / `admin:write:accounts` scopes. Links and
unlinks go through `watercooler.sso_links`, the CLI's code: the same audit rows, origin 'api'.
403 for non-admins, 404 when the identity to unlink is not that user's, 422 for a bad account
or subject, or when the identity is linked already.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import oidc, users
from store.oidc import IdentityListing
from store.records import UserRecord
from watercooler.admin import Actor, AdminError, Missing
from watercooler.api.admin_auth import admin_caller as _admin
from watercooler.api.entities import iso
from watercooler.api.forms import body_params, id_param
from watercooler.http import FastJSONResponse
from watercooler.services import Services
from watercooler.sso_links import change_link

PATH = "/api/v1/admin/sso/identities"
MAX_ISSUER = 2048


def identity_entity(listing: IdentityListing) -> dict[str, Any]:
    """One identity and the account it signs in as."""
    return {
        "account_id": str(listing.account_id),
        "username": listing.username,
        "issuer": listing.issuer,
        "subject": listing.subject,
        "created_at": iso(listing.created_at),
        "last_sign_in_at": iso(listing.last_sign_in_at) if listing.last_sign_in_at else None,
    }


async def _user(svc: Services, value: Any) -> UserRecord:
    """The local user behind `account_id`, or 422 (a remote account has no sign-in)."""
    account_id = id_param(value, "account_id")
    if account_id is None:
        raise HTTPException(422, "Validation failed: account_id is missing")
    async with svc.db.read() as conn:
        user = await users.get_by_account_id(conn, account_id)
    if user is None:
        raise HTTPException(422, "Validation failed: account_id is not a user of this division")
    return user


def _issuer(svc: Services) -> str:
    """The configured issuer, as the CLI takes it (an identity is always that IdP's)."""
    if svc.config.oidc is None:
        raise HTTPException(422, "Validation failed: single sign-on is not configured ([oidc])")
    return str(svc.config.oidc.issuer).rstrip("/")


def _unlink_issuer(svc: Services, value: Any) -> str:
    """Unlink takes an `issuer` too, as `sso unlink --issuer` does: an identity of the IdP's
    URL before a migration is still listed and may be removed."""
    if value in (None, ""):
        return _issuer(svc)
    if not isinstance(value, str) or len(value) > MAX_ISSUER:
        raise HTTPException(422, "Validation failed: issuer must be the issuer's URL")
    return value.rstrip("/")


async def _listing(svc: Services, user: UserRecord, issuer: str, subject: str) -> dict[str, Any]:
    async with svc.db.read() as conn:
        listed = await oidc.list_identities(conn, user.id)
    (found,) = (item for item in listed if (item.issuer, item.subject) == (issuer, subject))
    return identity_entity(found)


async def index(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:accounts")
    wanted = request.query_params.get("account_id")
    user_id = (await _user(svc, wanted)).id if wanted not in (None, "") else None
    async with svc.db.read() as conn:
        listed = await oidc.list_identities(conn, user_id)
    return FastJSONResponse([identity_entity(item) for item in listed])


async def _change(request: Request, *, link: bool) -> tuple[Services, UserRecord, str, str]:
    svc, caller = await _admin(request, "admin:write:accounts")
    params = await body_params(request)  # the query's, when there is no body (DELETE)
    user = await _user(svc, params.get("account_id"))
    subject = params.get("subject")
    if not isinstance(subject, str) or not subject:
        raise HTTPException(422, "Validation failed: subject is missing")
    issuer = _issuer(svc) if link else _unlink_issuer(svc, params.get("issuer"))
    try:
        await change_link(
            svc.db,
            user=user,
            issuer=issuer,
            subject=subject,
            link=link,
            actor=Actor.of_user(caller.user, "api"),
            now=svc.clock(),
        )
    except Missing as error:
        raise HTTPException(404, "Record not found") from error
    except AdminError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return svc, user, issuer, subject


async def link(request: Request) -> Response:
    """The identity made, as the list shows it."""
    svc, user, issuer, subject = await _change(request, link=True)
    return FastJSONResponse(await _listing(svc, user, issuer, subject))


async def unlink(request: Request) -> Response:
    """An empty object, as Mastodon's admin deletes answer."""
    await _change(request, link=False)
    return FastJSONResponse({})


routes = [
    Route(PATH, index),
    Route(PATH, link, methods=["POST"]),
    Route(PATH, unlink, methods=["DELETE"]),
]
