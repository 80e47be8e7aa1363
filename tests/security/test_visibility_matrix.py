"""The visibility matrix (issue 8, point 4): for each visibility, each kind of viewer and
each read path, exactly who is shown a post.

The expected answers are written below as data, from Mastodon's semantics plus Watercooler's
`org` visibility (every employee of every peer division, nobody outside), not derived from
the code under test. Each test reads one path for every (post, viewer) cell and reports every
cell that differs at once. The world (tests/security/matrix.py): alice on a.test posts one
status of each visibility, each mentioning mel (a.test) and pete (b.test, a peer); fiona
(a.test) and bob (b.test) follow her; olga (a.test) and pat (b.test) neither follow nor are
mentioned; xavier is on x.test, which is not a peer; the anonymous reader has no account.
Federation between them is real signed HTTP (tests/rig.py), and each remote viewer has pasted
each link into its app (a search with `resolve`), so its instance holds whatever it may fetch.

Read paths and their tables:
- client API `GET /api/v1/statuses/:id`, on the viewer's own instance ....... MAY_SEE
- timelines: home, organisation (`public`), local, account statuses ......... HOME, ORG_TIMELINE,
  LOCAL_TIMELINE, ACCOUNT_STATUSES
- full-text search `/api/v2/search` (a token is required, as Mastodon's) .... SEARCH
- streaming (`user` with notifications, `public`, `direct`) ................. STREAMED
- ActivityPub GET of the note (id, `/activity`, `/@name/id`), signed/unsigned AP_GET
- collections: outbox, featured (there is no `replies` collection) .......... OUTBOX, FEATURED
- web pages: `/web/statuses/{id}` signed in ................................. WEB_SIGNED_IN
  and `/@name/{id}`, `/@name` anonymous ..................................... PUBLIC_PAGES
- issue 9: open questions `/api/v1/questions` (every post is a question) ..... QUESTIONS
  and `GET /api/v1/polls/:id` (every post has a poll) ....................... MAY_SEE
- issue 10, exports: the viewer's own archive `/web/settings/export/archive` . ARCHIVE
  and eDiscovery `/api/v1/admin/ediscovery`: 403 to every non-admin (401
  without a token); each division's admin gets all that division holds ...... EDISCOVERY
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.rig import Rig
from tests.security.matrix import (
    ACCOUNTS,
    HTML,
    ORIGIN,
    OUTSIDER,
    PEER,
    REMOTE,
    ROWS,
    VIEWERS,
    World,
    build,
    compare,
    configs,
    marker,
    stream_clients,
    streamed_uris,
)
from tests.web.signing import csrf_token
from watercooler.streaming.fanout import StreamFanout
from watercooler.streaming.hub import StreamingSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")

# ----- the expected table ----------------------------------------------------------------------

LOCAL = {"author", "follower", "mentioned", "other_local"}  # accounts of a.test, alice's division
PEERS = {"follower_peer", "mentioned_peer", "peer_user"}  # accounts of b.test, a peer division
EVERYONE = set(VIEWERS)  # and the non-peer instance and the anonymous reader
NOBODY: set[str] = set()

MAY_SEE = {
    "public": EVERYONE,
    "unlisted": EVERYONE,
    "org": LOCAL | PEERS,
    "private": {"author", "follower", "follower_peer", "mentioned", "mentioned_peer"},
    "direct": {"author", "mentioned", "mentioned_peer"},
    "local_only": LOCAL,  # a public post that never leaves a.test: its local accounts
}
"""Who may see each post at all: what a direct read (the API by id, a web page) answers."""

HOME = {
    # the author, followers, and the mentioned (as Pleroma and Akkoma do; Mastodon puts a
    # mention in the home of a mentioned follower only, but the mentioned may see it anyway)
    "public": {"author", "follower", "mentioned", "follower_peer", "mentioned_peer"},
    "unlisted": {"author", "follower", "mentioned", "follower_peer", "mentioned_peer"},
    "org": {"author", "follower", "mentioned", "follower_peer", "mentioned_peer"},
    "private": {"author", "follower", "mentioned", "follower_peer", "mentioned_peer"},
    "direct": {"author", "mentioned", "mentioned_peer"},  # not the followers
    "local_only": {"author", "follower", "mentioned"},
}
ORG_TIMELINE = {  # /api/v1/timelines/public: signed-in only; public and org posts of all peers
    # x.test fetched the public post when xavier pasted its link: its own federated timeline
    # shows it, as Mastodon's does a fetched public post (it is public)
    "public": LOCAL | PEERS | {"non_peer"},
    "unlisted": NOBODY,
    "org": LOCAL | PEERS,
    "private": NOBODY,
    "direct": NOBODY,
    "local_only": LOCAL,
}
LOCAL_TIMELINE = {  # ?local=true on each viewer's own instance: alice is local to a.test only
    "public": LOCAL,
    "unlisted": NOBODY,
    "org": LOCAL,
    "private": NOBODY,
    "direct": NOBODY,
    "local_only": LOCAL,
}
ACCOUNT_STATUSES = MAY_SEE
"""alice's posts in the API (`/api/v1/accounts/:id/statuses`), on each viewer's instance: as
Mastodon's AccountStatusesFilter, a mentioned viewer is listed the followers-only and direct
posts that mention them."""
SEARCH = {row: seen - {"anonymous"} for row, seen in MAY_SEE.items()}
QUESTIONS = SEARCH
"""The organisation's open questions, on each viewer's instance: a token is required."""
STREAMED = {
    # what a viewer's open stream is sent: its home (above), the organisation's public
    # stream, its direct conversations and its mention notifications
    "public": LOCAL | PEERS,
    "unlisted": {"author", "follower", "mentioned", "follower_peer", "mentioned_peer"},
    "org": LOCAL | PEERS,
    "private": {"author", "follower", "mentioned", "follower_peer", "mentioned_peer"},
    "direct": {"author", "mentioned", "mentioned_peer"},
    "local_only": LOCAL,
}
FETCHERS = (*REMOTE, "anonymous")  # who GETs ActivityPub documents: other servers, or anyone
AP_GET = {
    # signed as the viewer (Mastodon signs fetches made for a user), unsigned for anonymous
    "public": {*FETCHERS},
    "unlisted": {*FETCHERS},
    "org": PEERS,  # only a signer on a peer instance; the non-peer gets 404 like anyone
    "private": {"follower_peer", "mentioned_peer"},
    "direct": {"mentioned_peer"},
    "local_only": NOBODY,  # it never leaves a.test, not even for a peer
}
OUTBOX = {
    # public and unlisted only, whoever asks; Mastodon also lists followers-only posts to a
    # signed follower: Watercooler lists fewer (documented in watercooler/routes/statuses.py)
    "public": {*FETCHERS},
    "unlisted": {*FETCHERS},
    "org": NOBODY,
    "private": NOBODY,
    "direct": NOBODY,
    "local_only": NOBODY,
}
FEATURED = {**AP_GET, "direct": NOBODY}  # every post is pinned but the direct one (unpinnable)
WEB_SIGNED_IN = {row: seen - {"anonymous"} for row, seen in MAY_SEE.items()}
"""`/web/statuses/{id}` in a browser session: sends the anonymous reader to sign in (the
page for anyone is `/@name/{id}`, below)."""
ARCHIVE = {row: {"author"} for row in ROWS}
"""Whose own archive (zip, `outbox.json`) holds alice's post: hers, every one of them; no
one else's (the anonymous reader has none: sign in first)."""
ADMINS = {"admin_origin": ORIGIN, "admin_peer": PEER, "admin_outsider": OUTSIDER}
EDISCOVERY = {
    # an admin of each division exports everything it holds, whatever its visibility:
    # b.test got every federated post (bob follows alice, pete is mentioned); x.test only
    # what it may fetch unsigned-as-a-stranger (xavier pasted the links); local-only posts
    # never left a.test
    "public": {*ADMINS},
    "unlisted": {*ADMINS},
    "org": {"admin_origin", "admin_peer"},
    "private": {"admin_origin", "admin_peer"},
    "direct": {"admin_origin", "admin_peer"},
    "local_only": {"admin_origin"},
}
PUBLIC_PAGES = {  # the unsigned HTML pages `/@alice/ID` and `/@alice`: anyone
    "public": {"anonymous"},
    "unlisted": {"anonymous"},
    "org": NOBODY,
    "private": NOBODY,
    "direct": NOBODY,
    "local_only": NOBODY,
}


# ----- the world ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder: Path = tmp_path_factory.mktemp("matrix")
    async with Rig(configs(folder)) as rig:
        built = await build(rig)
        try:
            yield built
        finally:
            await built.aclose()


def report(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} cells differ:\n" + "\n".join(problems)


# ----- client API ------------------------------------------------------------------------------


async def test_client_api_status_by_id(world: World) -> None:
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    problems = []
    for viewer in VIEWERS:
        for row, post in world.posts.items():
            copy = await world.copy(viewer, post)
            if copy is None:
                continue  # the viewer's instance holds nothing of it
            answer = await world.api[viewer].get(f"/api/v1/statuses/{copy.id}")
            if answer.status_code == 200 and answer.json()["uri"] == post.uri:
                seen[row].add(viewer)
            elif answer.status_code != 404:
                problems.append(f"api status: {row}, {viewer}: answered {answer.status_code}")
    report(problems + compare("GET /api/v1/statuses/:id", MAY_SEE, seen))


async def timeline(world: World, viewer: str, which: str) -> httpx.Response | None:
    api = world.api[viewer]
    if which == "account":
        alice = await world.rig.account(world.domain(viewer), world.accounts["author"].uri)
        if alice is None:
            return None  # the viewer's instance does not know her
        return await api.get(f"/api/v1/accounts/{alice.id}/statuses", params={"limit": 40})
    path, params = {
        "home": ("/api/v1/timelines/home", {}),
        "org": ("/api/v1/timelines/public", {}),
        "local": ("/api/v1/timelines/public", {"local": "true"}),
    }[which]
    return await api.get(path, params={"limit": 40, **params})


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("home", HOME),
        ("org", ORG_TIMELINE),
        ("local", LOCAL_TIMELINE),
        ("account", ACCOUNT_STATUSES),
    ],
)
async def test_timelines(world: World, which: str, expected: dict[str, set[str]]) -> None:
    uris = {post.uri: row for row, post in world.posts.items()}
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    problems = []
    for viewer in VIEWERS:
        answer = await timeline(world, viewer, which)
        if answer is None:
            continue
        if viewer == "anonymous" and which != "account":
            if answer.status_code != 401:  # Mastodon's timeline_preview off: sign in first
                problems.append(f"{which}: anonymous answered {answer.status_code}")
            continue
        assert answer.status_code == 200, (which, viewer, answer.text)
        for entity in answer.json():
            if entity["uri"] in uris:
                seen[uris[entity["uri"]]].add(viewer)
    report(problems + compare(f"timeline {which}", expected, seen))


async def test_full_text_search(world: World) -> None:
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    problems = []
    for viewer in VIEWERS:
        for row, post in world.posts.items():
            answer = await world.api[viewer].get(
                "/api/v2/search", params={"q": marker("a", row), "type": "statuses"}
            )
            if viewer == "anonymous":
                if answer.status_code != 401:
                    problems.append(f"search: anonymous answered {answer.status_code}")
                continue
            assert answer.status_code == 200, answer.text
            if post.uri in {status["uri"] for status in answer.json()["statuses"]}:
                seen[row].add(viewer)
    report(problems + compare("GET /api/v2/search", SEARCH, seen))


async def test_open_questions(world: World) -> None:
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    uris = {post.uri: row for row, post in world.posts.items()}
    problems = []
    for viewer in VIEWERS:
        answer = await world.api[viewer].get(
            "/api/v1/questions", params={"state": "all", "limit": 40}
        )
        if viewer == "anonymous":
            if answer.status_code != 401:
                problems.append(f"questions: anonymous answered {answer.status_code}")
            continue
        assert answer.status_code == 200, answer.text
        for entity in answer.json():
            if entity["uri"] in uris:
                seen[uris[entity["uri"]]].add(viewer)
    report(problems + compare("GET /api/v1/questions", QUESTIONS, seen))


async def test_polls_api(world: World) -> None:
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    problems = []
    for viewer in VIEWERS:
        for row, post in world.posts.items():
            copy = await world.copy(viewer, post)
            if copy is None:
                continue
            status = await world.api[viewer].get(f"/api/v1/statuses/{copy.id}")
            if status.status_code != 200 or status.json()["poll"] is None:
                continue  # the status itself is hidden (above), or its poll never came
            poll_id = status.json()["poll"]["id"]
            answer = await world.api[viewer].get(f"/api/v1/polls/{poll_id}")
            if answer.status_code == 200:
                seen[row].add(viewer)
            else:
                problems.append(f"poll: {row}, {viewer}: answered {answer.status_code}")
    report(problems + compare("GET /api/v1/polls/:id", MAY_SEE, seen))


# ----- streaming -------------------------------------------------------------------------------


async def test_streaming(world: World) -> None:
    """Each viewer's connection is fed by its instance's streaming fan-out, stepped by hand
    after a new batch of posts has been delivered: what it queued is what the viewer got."""
    settings = StreamingSettings()
    clients = stream_clients(world, settings)
    domains = {world.domain(viewer) for viewer in ACCOUNTS}
    fanouts = {domain: StreamFanout(world.rig.services(domain), settings) for domain in domains}
    for fanout in fanouts.values():
        await fanout.prime()
    posts = await world.publish("s")
    await world.rig.drain()
    for domain, fanout in fanouts.items():
        await fanout.step([c for v, c in clients.items() if world.domain(v) == domain])
    uris = {post.uri: row for row, post in posts.items()}
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    for viewer, client in clients.items():
        assert not client.closed, (viewer, client.close_reason)
        for uri in await streamed_uris(client) & uris.keys():
            seen[uris[uri]].add(viewer)
    problems = compare("streaming", STREAMED, seen)
    # the anonymous reader cannot open a stream at all (not even the public one)
    async with world.api["anonymous"].stream("GET", "/api/v1/streaming/public") as anonymous:
        if anonymous.status_code != 401:
            problems.append(f"streaming: anonymous answered {anonymous.status_code}")
    report(problems)


# ----- ActivityPub -----------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["id", "activity", "url"])
async def test_activitypub_get_of_the_note(world: World, address: str) -> None:
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    problems = []
    for row, post in world.posts.items():
        url = {"id": post.uri, "activity": f"{post.uri}/activity", "url": post.url or ""}[address]
        for viewer in FETCHERS:
            answer = await world.signed_get(viewer, url)
            if answer.status_code == 200:
                document = answer.json()
                shown = document.get("object", document)
                assert shown["id"] == post.uri
                seen[row].add(viewer)
            elif answer.status_code not in (403, 404):  # 403: a non-peer refused by policy
                problems.append(f"AP GET {address}: {row}, {viewer}: {answer.status_code}")
    report(problems + compare(f"AP GET {address}", AP_GET, seen, FETCHERS))


@pytest.mark.parametrize(("collection", "expected"), [("outbox", OUTBOX), ("featured", FEATURED)])
async def test_activitypub_collections(
    world: World, collection: str, expected: dict[str, set[str]]
) -> None:
    assert world.pinned == set(ROWS) - {"direct"}  # what FEATURED assumes
    path = {
        "outbox": "/users/alice/outbox?page=true",
        "featured": "/users/alice/collections/featured",
    }[collection]
    rows = {post.uri: row for row, post in world.posts.items()}
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    for viewer in FETCHERS:
        answer = await world.signed_get(viewer, f"http://{ORIGIN}{path}")
        assert answer.status_code == 200, (collection, viewer, answer.text)
        for item in answer.json()["orderedItems"]:
            shown = item.get("object", item) if isinstance(item, dict) else item
            uri = shown["id"] if isinstance(shown, dict) else shown
            if uri in rows:
                seen[rows[uri]].add(viewer)
    report(compare(collection, expected, seen, FETCHERS))


# ----- web pages -------------------------------------------------------------------------------


async def test_web_status_page_signed_in(world: World) -> None:
    """`/web/statuses/{id}` on the viewer's own instance, in a signed-in browser session
    (the anonymous reader is sent to sign in)."""
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    problems = []
    for viewer in VIEWERS:
        browser = await world.web(viewer)
        try:
            for row, post in world.posts.items():
                copy = await world.copy(viewer, post)
                if copy is None:
                    continue
                page = await browser.get(f"/web/statuses/{copy.id}", headers=HTML)
                if page.status_code == 200 and marker("a", row) in page.text:
                    seen[row].add(viewer)
                elif page.status_code not in (302, 303, 401, 404):
                    problems.append(f"web status: {row}, {viewer}: {page.status_code}")
        finally:
            await browser.aclose()
    report(problems + compare("/web/statuses/{id}", WEB_SIGNED_IN, seen))


@pytest.mark.parametrize("page", ["status", "profile"])
async def test_public_web_pages(world: World, page: str) -> None:
    """The pages anyone may open, as the anonymous reader opens them."""
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    async with world.rig.client(ORIGIN) as anonymous:
        profile = await anonymous.get("/@alice", headers=HTML)
        assert profile.status_code == 200
        for row, post in world.posts.items():
            if page == "profile":
                shown = marker("a", row) in profile.text
            else:
                answer = await anonymous.get(f"/@alice/{post.id}", headers=HTML)
                assert answer.status_code in (200, 404), answer.status_code
                shown = answer.status_code == 200 and marker("a", row) in answer.text
            if shown:
                seen[row].add("anonymous")
    report(compare(f"anonymous web {page}", PUBLIC_PAGES, seen, ["anonymous"]))


# ----- exports (issue 10) ----------------------------------------------------------------------


async def test_own_archive(world: World) -> None:
    """Each viewer downloads their own archive from the settings page, as a browser does."""
    rows = {post.uri: row for row, post in world.posts.items()}
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    problems = []
    for viewer in VIEWERS:
        browser = await world.web(viewer)
        try:
            page = await browser.get("/web/settings/export", headers=HTML)
            if viewer == "anonymous":
                if page.status_code != 303:
                    problems.append(f"archive: anonymous answered {page.status_code}")
                continue
            answer = await browser.post(
                "/web/settings/export/archive", data={"csrf_token": csrf_token(page)}
            )
            assert answer.status_code == 200, (viewer, answer.text)
            outbox = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("outbox.json"))
            for item in outbox["orderedItems"]:
                shown = item["object"]
                uri = shown["id"] if isinstance(shown, dict) else shown
                if uri in rows:
                    seen[rows[uri]].add(viewer)
        finally:
            await browser.aclose()
    report(problems + compare("own archive", ARCHIVE, seen))


async def test_ediscovery(world: World) -> None:
    """Refused to every viewer (a token with `admin:read` does not make an admin); an admin
    of each division gets exactly what that division holds, direct messages included."""
    problems = []
    for viewer in VIEWERS:
        if viewer == "anonymous":
            answer = await world.api["anonymous"].get("/api/v1/admin/ediscovery")
            if answer.status_code != 401:
                problems.append(f"ediscovery: anonymous answered {answer.status_code}")
            continue
        domain, name = ACCOUNTS[viewer]
        async with await world.rig.api_client(domain, name, "read admin:read") as client:
            answer = await client.get("/api/v1/admin/ediscovery")
        if answer.status_code != 403:
            problems.append(f"ediscovery: {viewer} answered {answer.status_code}")
    rows = {post.uri: row for row, post in world.posts.items()}
    seen: dict[str, set[str]] = {row: set() for row in ROWS}
    for admin, domain in ADMINS.items():
        held = {row for row, p in world.posts.items() if await world.rig.status(domain, p.uri)}
        async with await world.rig.admin_client(domain, "root") as client:
            for query in ("", "vma*"):  # everything, and alice's first batch by its markers
                answer = await client.get("/api/v1/admin/ediscovery", params={"q": query})
                assert answer.status_code == 200, (admin, answer.text)
                found = [json.loads(line) for line in answer.text.splitlines()]
                found_rows = {rows[r["uri"]] for r in found if r["uri"] in rows}
                for row in found_rows:
                    seen[row].add(admin)
                if found_rows != held:
                    problems.append(f"ediscovery {domain} {query!r}: {found_rows}, holds {held}")
    report(problems + compare("ediscovery", EDISCOVERY, seen, ADMINS))
