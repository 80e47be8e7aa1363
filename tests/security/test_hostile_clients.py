"""Hostile client input (issue 8, point 3), where other tests do not already prove it.

HTML and script typed into posts, names and profile fields through the client API, and sent
by a peer in a Note and a profile, come out inert in every API entity and web page that
shows them. A token cannot write beyond its scopes, nor at all once revoked, and changes
nothing trying. Guessing a password is stopped the same way whichever door is tried. Search
strings in SQL and FTS5 syntax get an answer, never a 500, and change nothing.

Already proven elsewhere (and listed in docs/security.md): the OAuth code, PKCE and redirect
rules in tests/watercooler/test_oauth.py, the sign-in lockout of the OAuth page there too,
oversized and wrong-type uploads in tests/watercooler/test_api_media.py, remote HTML
sanitised in the store in tests/federation_core/test_inbox_security.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, closing
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from federation import activities
from tests.conftest import MakeConfig
from tests.federation_core.test_inbox_security import (
    BOB,
    HOSTILE,
    create,
    note_json,
    send,
    sign,
    signer,
)
from tests.rig import Rig
from tests.watercooler.conftest import account_id
from tests.web.signing import sign_in

PASSWORD = "password123"
"""What `Rig.user` gives everyone."""

_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")
_ACTIVE = {"script", "iframe", "object", "embed", "svg", "math", "style", "base", "frame"}


class _Elements(HTMLParser):
    """Every element of a document with its attributes, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_inert(html: str, where: str) -> None:
    """No element that runs script: no script (but our own static files), iframe, object,
    embed, svg or style element, no event-handler attribute, no script URL in a link."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.found:
        values = dict(attrs)
        if tag == "script" and (values.get("src") or "").startswith("/web/static/"):
            continue
        assert tag not in _ACTIVE, (where, tag, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (where, tag, name, value)
            link = "".join((value or "").split()).lower()
            if name in ("href", "src", "action", "formaction", "xlink:href"):
                assert not link.startswith(_SCRIPT_SCHEMES), (where, tag, name, value)


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=("a.test",))]
    async with Rig(configs) as rig:
        yield rig


@asynccontextmanager
async def web_client(rig: Rig, domain: str, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser without JavaScript, signed in to `domain`'s pages as `name`."""
    async with rig.client(domain) as client:
        answer = await sign_in(client, name, PASSWORD)
        assert answer.status_code == 303, answer.text
        yield client


def count_rows(rig: Rig, domain: str) -> dict[str, int]:
    """Every table's row count and the schema itself, read beside the app's connections."""
    with closing(sqlite3.connect(rig.services(domain).db.path)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%search_%'"
            )
        ]
        found = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        found["(schema)"] = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return found


# --- XSS through the client API ------------------------------------------------------------

TYPED = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    '<a href="javascript:alert(3)">click</a> <svg onload=alert(4)> javascript:alert(5) '
    "<iframe src=https://evil.example></iframe>"
)


async def test_html_typed_through_the_api_stays_text_in_entities_and_pages(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with AsyncExitStack() as stack:
        for client in (alice, bob):
            await stack.enter_async_context(client)
        # bob follows alice, so her post and profile reach b.test too.
        followed = await bob.post(
            f"/api/v1/accounts/{await account_id(bob, 'alice@a.test')}/follow"
        )
        assert followed.status_code == 200
        await rig.drain()
        changed = await alice.patch(
            "/api/v1/accounts/update_credentials",
            data={
                "display_name": "<script>alert('name')</script>",
                "note": f"About me {TYPED}",
                "fields_attributes[0][name]": "<b onmouseover=alert(6)>Team</b>",
                "fields_attributes[0][value]": f"{TYPED} https://example.com/x",
            },
        )
        assert changed.status_code == 200, changed.text
        made = await alice.post(
            "/api/v1/statuses",
            json={"status": f"Hello {TYPED}", "spoiler_text": "<script>cw</script>"},
        )
        assert made.status_code == 200, made.text
        await rig.drain()
        status_id = made.json()["id"]
        # The author's own instance: the status and the account, as apps get them.
        entities: dict[str, Any] = {
            "status": (await alice.get(f"/api/v1/statuses/{status_id}")).json(),
            "me": (await alice.get("/api/v1/accounts/verify_credentials")).json(),
        }
        remote_id = await account_id(bob, "alice@a.test")
        home = (await bob.get("/api/v1/timelines/home")).json()
        (copy,) = [s for s in home if s["uri"] == made.json()["uri"]]
        entities["status at b.test"] = copy
        entities["account at b.test"] = (await bob.get(f"/api/v1/accounts/{remote_id}")).json()
    for where, entity in entities.items():
        account = entity.get("account", entity)
        html = [entity.get("content", ""), account["note"]]
        html += [field["value"] for field in account["fields"]]
        for text in html:
            assert_inert(text, where)
        # Plain-text properties are plain text, as Mastodon's API has them: apps and our
        # pages escape them (the pages are checked below). A peer's copy is made from the
        # sanitised HTML of the actor document.
        plain = [account["display_name"], account["fields"][0]["name"]]
        if where.endswith("b.test"):
            assert all("<" not in text for text in plain), (where, plain)
        else:
            assert plain == ["<script>alert('name')</script>", "<b onmouseover=alert(6)>Team</b>"]
    assert "alert(1)" in entities["status"]["content"]  # kept as text, not dropped
    assert entities["status"]["spoiler_text"] == "<script>cw</script>"  # plain text
    # AS2's summary is HTML: the peer keeps the text of what it sanitised (here: nothing).
    assert "<" not in entities["status at b.test"]["spoiler_text"]
    # The web pages of both instances.
    status_page = f"/web/statuses/{status_id}"
    remote_status = entities["status at b.test"]["id"]
    pages = {
        ("a.test", "alice"): [
            status_page,
            f"/web/accounts/{entities['me']['id']}",
            "/web/home",
            "/@alice",
            f"/@alice/{status_id}",
        ],
        ("b.test", "bob"): [
            f"/web/statuses/{remote_status}",
            f"/web/accounts/{remote_id}",
            "/web/home",
        ],
    }
    for (domain, name), paths in pages.items():
        async with web_client(rig, domain, name) as browser:
            for path in paths:
                page = await browser.get(path)
                assert page.status_code == 200, (domain, path, page.status_code)
                assert_inert(page.text, f"{domain}{path}")
                assert "alert(" in page.text, (domain, path)  # shown, as text


# --- XSS from a peer's payloads ------------------------------------------------------------


async def test_hostile_html_from_a_peer_is_inert_in_entities_and_pages(rig: Rig) -> None:
    await rig.user("a.test", "alice")
    await rig.user("b.test", "bob")
    bob = await signer(rig, "b.test", "bob")
    note = note_json(
        content=f"{HOSTILE}<p>Quarterly numbers</p>",
        summary=f"CW {HOSTILE}",
    )
    answer = await send(rig, sign(create(note), bob))
    assert answer.status_code == 202, answer.text
    actor = await rig.services("a.test").fetcher.fetch_json(BOB)
    profile = actor | {
        "name": f"Bob{HOSTILE}",
        "summary": f"<p>Builds</p>{HOSTILE}",
        "attachment": [
            {"type": "PropertyValue", "name": f"Team{HOSTILE}", "value": HOSTILE},
            {"type": "PropertyValue", "name": "Site", "value": '<a href="vbscript:x">s</a>'},
        ],
    }
    update = activities.update(BOB, profile, published=datetime.now(UTC))
    assert (await send(rig, sign(update, bob))).status_code == 202
    await rig.drain()
    async with await rig.api_client("a.test", "alice") as alice:
        found = await alice.get(
            "/api/v2/search", params={"q": note["id"], "type": "statuses", "resolve": "true"}
        )
        (status,) = found.json()["statuses"]
        account = (await alice.get(f"/api/v1/accounts/{status['account']['id']}")).json()
    assert "Quarterly numbers" in status["content"]
    for where, text in {
        "content": status["content"],
        "note": account["note"],
        **{f"field {n}": f["value"] for n, f in enumerate(account["fields"])},
    }.items():
        assert_inert(text, where)
    for plain in (status["spoiler_text"], account["display_name"], account["fields"][0]["name"]):
        assert "<" not in plain, plain  # plain text made from the remote HTML
    assert account["display_name"].startswith("Bob")
    async with web_client(rig, "a.test", "alice") as browser:
        for path in (f"/web/statuses/{status['id']}", f"/web/accounts/{account['id']}"):
            page = await browser.get(path)
            assert page.status_code == 200, path
            assert_inert(page.text, path)
            assert "Bob" in page.text


# --- tokens: beyond their scopes, revoked ---------------------------------------------------


async def register_app(client: httpx.AsyncClient) -> dict[str, str]:
    answer = await client.post(
        "/api/v1/apps",
        data={
            "client_name": "tester",
            "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow",
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def password_grant(
    client: httpx.AsyncClient, app: dict[str, str], password: str, scope: str = "read write follow"
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": password,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": scope,
        },
    )


async def test_a_token_beyond_its_scopes_or_revoked_changes_nothing(rig: Rig) -> None:
    await rig.user("b.test", "bob")
    async with await rig.api_client("a.test", "alice") as alice:
        mine = (await alice.post("/api/v1/statuses", json={"status": "keep me"})).json()
        bob_id = await account_id(alice, "bob@b.test")
    await rig.drain()
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/statuses", {"json": {"status": "not mine to post"}}),
        ("PATCH", "/api/v1/accounts/update_credentials", {"data": {"display_name": "pwned"}}),
        ("POST", f"/api/v1/accounts/{bob_id}/follow", {}),
        ("DELETE", f"/api/v1/statuses/{mine['id']}", {}),
        ("POST", f"/api/v1/statuses/{mine['id']}/favourite", {}),
        ("POST", f"/api/v1/statuses/{mine['id']}/reblog", {}),
        ("POST", "/api/v2/media", {"files": {"file": ("a.png", b"\x89PNG", "image/png")}}),
    ]
    before = count_rows(rig, "a.test")
    async with await rig.api_client("a.test", "alice", scopes="read") as reader:
        for method, path, extra in writes:
            answer = await reader.request(method, path, **extra)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error"] == "This action is outside the authorized scopes"
    async with await rig.api_client("a.test", "alice", scopes="write:statuses") as narrow:
        refused = await narrow.patch(
            "/api/v1/accounts/update_credentials", data={"display_name": "pwned"}
        )
        assert refused.status_code == 403
        assert (await narrow.get("/api/v1/admin/peers")).status_code == 403
    async with rig.client("a.test") as client:
        app = await register_app(client)
        grant = (await password_grant(client, app, PASSWORD)).json()
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        assert (await client.get("/api/v1/admin/peers", headers=headers)).status_code == 403
        # Revoked by its owner (the apps page, /oauth/revoke): it stops at once.
        revoked = await client.post(
            "/oauth/revoke",
            data={
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "token": grant["access_token"],
            },
        )
        assert revoked.status_code == 200
        for method, path, extra in writes:
            answer = await client.request(method, path, headers=headers, **extra)
            assert answer.status_code == 401, (method, path, answer.text)
    after = count_rows(rig, "a.test")
    # The token exchange itself wrote the app and its (now revoked) tokens, and the audit log
    # their grant and revocation (issue 10); nothing else.
    changed = {t for t in after if after[t] != before.get(t)}
    tokens = {"oauth_applications", "oauth_tokens", "oauth_refresh_tokens", "audit_log"}
    assert changed <= tokens, changed
    with closing(sqlite3.connect(rig.services("a.test").db.path)) as conn:
        logged = [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    added = logged[before["audit_log"] :]
    assert added == ["oauth.token_grant", "oauth.token_revoke"], added
    async with await rig.api_client("a.test", "alice") as alice:
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
        assert me["display_name"] != "pwned"
        assert (await alice.get(f"/api/v1/statuses/{mine['id']}")).status_code == 200


# --- guessing passwords -------------------------------------------------------------------


async def test_guessing_passwords_is_stopped_at_every_door_with_a_clear_message(rig: Rig) -> None:
    await rig.user("a.test", "alice")
    async with rig.client("a.test") as client:
        app = await register_app(client)

        async def grant(password: str) -> httpx.Response:
            return await password_grant(client, app, password, scope="read")

        # Guesses through the web sign-in page and the password grant count together.
        for guess in range(5):
            refused = await sign_in(client, "alice", f"guess {guess}")
            assert refused.status_code == 401
            assert "Invalid username, e-mail or password." in refused.text
        for guess in range(5):
            wrong = await grant(f"guess {guess + 5}")
            assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
        # Now even the right password waits, at every door, and each says why and how long.
        locked = await grant(PASSWORD)
        assert (locked.status_code, locked.json()["error"]) == (429, "invalid_grant")
        assert "Too many failed sign-in attempts" in locked.json()["error_description"]
        page = await sign_in(client, "alice", PASSWORD)
        assert page.status_code == 429
        assert "Too many failed sign-in attempts" in page.text and "minutes" in page.text
        assert "session" not in page.headers.get("set-cookie", "")
        # The lockout is of this account from this address: a colleague is not locked out.
        await rig.user("a.test", "bob")
        assert (await sign_in(client, "bob", PASSWORD)).status_code == 303


# --- SQL and FTS5 syntax in search ----------------------------------------------------------

HOSTILE_QUERIES = [
    "'; DROP TABLE statuses; --",
    "budget'); DELETE FROM accounts; --",
    '" OR 1=1 --',
    '"unbalanced',
    'budget"',
    "NEAR(",
    "NEAR(budget review, 2)",
    "*",
    "budget*",
    "AND OR NOT",
    "NOT budget",
    "budget AND",
    "OR",
    "content:budget",
    "text:budget",
    "status_search:budget",
    "col:val",
    "{content text}: budget",
    "^budget",
    "budget\x00DROP",
    "\x00",
    "%",
    "_",
    "\\",
    "%_%",
    "#'; DROP TABLE tags; --",
    "#%",
    "@'; --@a.test",
    "@%@a.test",
    "from:'); --",
    "from:%",
    "before:2026-13-45",
    "language:' OR '1'='1",
    "has:'",
    "in:'; --",
    "(((((((",
    "-" * 300,
    "budget " * 200,
    "{{7*7}}",
]
SEARCHES = [
    ("/api/v2/search", {}),
    ("/api/v2/search", {"type": "statuses"}),
    ("/api/v2/search", {"type": "accounts"}),
    ("/api/v2/search", {"type": "hashtags"}),
    ("/api/v1/accounts/search", {}),
]


async def test_search_strings_in_sql_and_fts_syntax_answer_and_change_nothing(rig: Rig) -> None:
    async with await rig.api_client("a.test", "alice") as alice:
        made = await alice.post("/api/v1/statuses", json={"status": "Quarterly budget review"})
        assert made.status_code == 200
        await rig.drain()
        async with web_client(rig, "a.test", "alice") as browser:
            before = count_rows(rig, "a.test")
            for q in HOSTILE_QUERIES:
                for path, params in SEARCHES:
                    answer = await alice.get(path, params={"q": q, **params})
                    assert answer.status_code in (200, 400, 422), (q, path, params, answer.text)
                    if answer.status_code != 200:
                        assert answer.json()["error"], (q, path)
                page = await browser.get("/web/search", params={"q": q})
                assert page.status_code in (200, 400, 422), (q, page.status_code)
                if q == "{{7*7}}":
                    assert "{{7*7}}" in page.text  # shown as typed, not evaluated
                tag = await alice.get(f"/api/v1/timelines/tag/{quote(q[:100], safe='')}")
                assert tag.status_code in (200, 400, 404, 422), (q, tag.text)
        assert count_rows(rig, "a.test") == before
        # And the index still answers properly.
        found = await alice.get("/api/v2/search", params={"q": "budget", "type": "statuses"})
        assert [s["id"] for s in found.json()["statuses"]] == [made.json()["id"]]
