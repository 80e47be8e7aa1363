"""The Moving settings page over HTTP on two divisions of the rig (real apps, real signed
HTTP between them): the alias on the new account, the move on the old one after the current
password, CSRF on every form, and what the pages show afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from store import accounts, audit, follows
from store import moves as stored_moves
from tests.conftest import MakeConfig
from tests.rig import Rig

from .signing import csrf_token, sign_in

SALES, ENG = "sales.test", "eng.test"
PASSWORD = "password123"  # tests.rig.Rig.user's
PAGE = "/web/settings/moving"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config(SALES, peers=(ENG,)), make_config(ENG, peers=(SALES,))]
    async with Rig(configs) as rig:
        yield rig


@asynccontextmanager
async def browser(rig: Rig, domain: str, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as `name` (created) on `domain`."""
    await rig.user(domain, name)
    async with rig.client(domain) as client:
        answer = await sign_in(client, name, PASSWORD)
        assert answer.status_code == 303, answer.text
        yield client


async def submit(client: httpx.AsyncClient, action: str, data: dict[str, str]) -> httpx.Response:
    """Open the Moving page and post one of its forms with the page's CSRF token."""
    page = await client.get(PAGE)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf_token": csrf_token(page), **data})


async def test_alias_then_move_on_the_pages(rig: Rig) -> None:
    async with browser(rig, ENG, "alice2") as new, browser(rig, SALES, "alice") as old:
        dave = await rig.user(SALES, "dave")
        async with rig.services(SALES).db.read() as conn:
            alice = await accounts.get_local(conn, "alice")
        assert alice is not None
        await rig.services(SALES).publisher.follow(dave, alice)
        # On the new account: the old one as an alias
        page = await new.get(PAGE)
        assert "Moving from another account" in page.text and "No aliases." in page.text
        added = await submit(new, f"{PAGE}/aliases", {"acct": "@alice@sales.test"})
        assert added.status_code == 303 and added.headers["location"] == f"{PAGE}?done=alias"
        page = await new.get(added.headers["location"])
        assert "http://sales.test/users/alice" in page.text and "The alias is saved" in page.text
        async with rig.services(ENG).db.read() as conn:
            alice2 = await accounts.get_local(conn, "alice2")
            assert alice2 is not None
            assert await stored_moves.aliases(conn, alice2.id) == ["http://sales.test/users/alice"]
            (entry,) = await audit.page(conn, action="account.alias")
        assert (entry.origin, entry.actor_name) == ("web", "alice2")
        await rig.drain()

        # On the old account: a wrong password moves nothing
        wrong = await submit(
            old, f"{PAGE}/move", {"acct": "@alice2@eng.test", "current_password": "nope nope"}
        )
        assert wrong.status_code == 403 and "password is not right" in wrong.text
        # the right one moves the account
        moved = await submit(
            old, f"{PAGE}/move", {"acct": "@alice2@eng.test", "current_password": PASSWORD}
        )
        assert moved.status_code == 303, moved.text
        page = await old.get(moved.headers["location"])
        assert "This account has moved to" in page.text and "@alice2@eng.test" in page.text
        assert 'action="/web/settings/moving/move"' not in page.text  # no second move
        async with rig.services(SALES).db.read() as conn:
            alice = await accounts.get_local(conn, "alice")
            (entry,) = await audit.page(conn, action="account.move")
        assert alice is not None and alice.moved_to_account_id is not None
        assert (entry.origin, entry.actor_name) == ("web", "alice")
        # the employees' profile page points to the new account
        profile = await old.get(f"/web/accounts/{alice.id}")
        assert "has moved to" in profile.text and 'href="http://eng.test/@alice2"' in profile.text
        # and posting from the web is refused with the reason
        compose = await old.get("/web/home")
        refused = await old.post(
            "/web/statuses", data={"csrf_token": csrf_token(compose), "status": "hello?"}
        )
        assert refused.status_code == 422 and "has moved" in refused.text
    # dave, who followed alice on sales itself, follows alice2 now and was told on his page
    await rig.drain()
    assert dave.id in await follower_ids(rig, ENG, "alice2", SALES)
    async with rig.client(SALES) as daves:
        assert (await sign_in(daves, "dave", PASSWORD)).status_code == 303
        notes = await daves.get("/web/notifications")
    assert "moved to a new account, which you now follow" in notes.text
    assert "@alice2@eng.test" in notes.text


async def follower_ids(rig: Rig, domain: str, name: str, of_domain: str) -> set[int]:
    """Ids (on `of_domain`) of the local accounts of `of_domain` that follow `name`@`domain`."""
    svc = rig.services(of_domain)
    target = await rig.account(of_domain, rig.services(domain).uris.actor(name))
    assert target is not None
    async with svc.db.read() as conn:
        return set(await follows.local_follower_ids(conn, target.id))


async def test_a_move_the_new_account_does_not_list_is_refused(rig: Rig) -> None:
    await rig.user(ENG, "alice2")
    async with browser(rig, SALES, "alice") as old:
        refused = await submit(
            old, f"{PAGE}/move", {"acct": "@alice2@eng.test", "current_password": PASSWORD}
        )
        assert refused.status_code == 422
        assert "does not list @alice@sales.test as an alias" in refused.text
        unknown = await submit(old, f"{PAGE}/aliases", {"acct": "@nobody@eng.test"})
        assert unknown.status_code == 422 and "No account @nobody@eng.test" in unknown.text
        itself = await submit(old, f"{PAGE}/aliases", {"acct": "alice"})
        assert itself.status_code == 422 and "alias of itself" in itself.text
    async with rig.services(SALES).db.read() as conn:
        alice = await accounts.get_local(conn, "alice")
        assert alice is not None and alice.moved_to_account_id is None
        assert await stored_moves.aliases(conn, alice.id) == []


async def test_forms_without_csrf_token_change_nothing(rig: Rig) -> None:
    await rig.user(ENG, "alice2")
    async with browser(rig, SALES, "alice") as old:
        for action, data in (
            (f"{PAGE}/aliases", {"acct": "@alice2@eng.test"}),
            (f"{PAGE}/move", {"acct": "@alice2@eng.test", "current_password": PASSWORD}),
            (f"{PAGE}/aliases/remove", {"uri": "http://eng.test/users/alice2"}),
        ):
            missing = await old.post(action, data=data)
            forged = await old.post(action, data={**data, "csrf_token": "forged"})
            assert (missing.status_code, forged.status_code) == (403, 403), action
    async with rig.services(SALES).db.read() as conn:
        alice = await accounts.get_local(conn, "alice")
        assert alice is not None and alice.moved_to_account_id is None
        assert await stored_moves.aliases(conn, alice.id) == []
        assert await audit.page(conn, action="account.") == []


async def test_the_page_needs_a_signed_in_employee(rig: Rig) -> None:
    async with rig.client(SALES) as anonymous:
        answer = await anonymous.get(PAGE)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/web/sign_in")


async def test_an_alias_can_be_removed(rig: Rig) -> None:
    await rig.user(SALES, "alice")
    async with browser(rig, ENG, "alice2") as new:
        assert (
            await submit(new, f"{PAGE}/aliases", {"acct": "@alice@sales.test"})
        ).status_code == 303
        removed = await submit(
            new, f"{PAGE}/aliases/remove", {"uri": "http://sales.test/users/alice"}
        )
        assert removed.status_code == 303
        page = await new.get(removed.headers["location"])
        assert "No aliases." in page.text
    async with rig.services(ENG).db.read() as conn:
        entries = await audit.page(conn, action="account.alias")
    assert [e.details for e in entries] == [
        {"remove": "http://sales.test/users/alice"},
        {"add": "http://sales.test/users/alice"},
    ]
