"""Communities with another FEP-1b12 implementation, both ways, with Lemmy's own payloads
(tests/fixtures/activitypub/lemmy/, their hosts renamed to `lemmy.test`): a local user joins a
Lemmy community and what it announces (`Announce(Create(Page))`) is in our community timeline;
a Lemmy user's `Create(Page)` with `audience` our community is announced by our community to
its members, Lemmy included, wrapped as FEP-1b12 has it. `lemmy.test` is a fake peer that
signs what it sends with its actors' keys and records what it receives.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.keys import generate_rsa_keypair, load_private_key
from federation.signatures import sign_request
from tests.conftest import MakeConfig
from tests.rig import Rig

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub" / "lemmy"
LEMMY = "lemmy.test"
AS_JSON = "application/activity+json"
KEYS = generate_rsa_keypair()  # one key for every fake Lemmy actor: signing is what matters


def fixture(name: str, **hosts: str) -> dict[str, Any]:
    """A Lemmy payload with its hosts renamed: `hosts` maps a URL prefix to its new one."""
    text = (FIXTURES / name).read_text()
    for old, new in hosts.items():
        text = text.replace(old, new)
    return json.loads(text)  # type: ignore[no-any-return]


@dataclass
class FakeLemmy(httpx.AsyncBaseTransport):
    """Serves `documents` by path, accepts every POST (202) and keeps its JSON body."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.received.append(json.loads(await request.aread()))
            return httpx.Response(202)
        found = self.documents.get(request.url.path)
        if found is None:
            return httpx.Response(404)
        return httpx.Response(200, json=found, headers={"Content-Type": AS_JSON})

    def actor(self, document: dict[str, Any]) -> str:
        """Serve an actor document, with our key in place of Lemmy's."""
        document["publicKey"] = {
            "id": f"{document['id']}#main-key",
            "owner": document["id"],
            "publicKeyPem": KEYS.public_pem,
        }
        self.documents[httpx.URL(document["id"]).path] = document
        return str(document["id"])


async def deliver(rig: Rig, document: dict[str, Any], actor: str) -> None:
    """POST `document` to a.test's shared inbox signed by `actor`, as Lemmy does."""
    body = json.dumps(document).encode()
    headers = {"Content-Type": AS_JSON}
    headers |= sign_request(
        "POST", "http://a.test/inbox", headers, body, key_id=f"{actor}#main-key",
        private_key=load_private_key(KEYS.private_pem), now=datetime.now(UTC),
    )  # fmt: skip
    async with rig.client("a.test") as client:
        response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    await rig.drain()


def lemmy_group(lemmy: FakeLemmy) -> str:
    """Lemmy's Group document served as `http://lemmy.test/c/main`; its id."""
    document = fixture("actor-group.json", **{"https://enterprise.lemmy.ml": f"http://{LEMMY}"})
    base = f"http://{LEMMY}/c/main"
    document |= {"id": base, "preferredUsername": "main", "featured": f"{base}/featured"}
    document |= {"inbox": f"{base}/inbox", "followers": f"{base}/followers"}
    return lemmy.actor(document)


@pytest.fixture
async def world(make_config: MakeConfig) -> AsyncIterator[tuple[Rig, FakeLemmy]]:
    rig = Rig([make_config("a.test", peers=(LEMMY,))])
    lemmy = FakeLemmy()
    rig.router.apps[LEMMY] = lemmy  # type: ignore[assignment]
    async with rig:
        yield rig, lemmy


async def test_a_lemmy_community_is_joined_and_its_posts_shown(
    world: tuple[Rig, FakeLemmy],
) -> None:
    rig, lemmy = world
    hosts = {"https://enterprise.lemmy.ml": f"http://{LEMMY}", "enterprise.lemmy.ml": LEMMY}
    group = lemmy_group(lemmy)
    author = fixture("actor-person.json", **hosts)
    author |= {"id": f"http://{LEMMY}/u/lemmy_beta", "preferredUsername": "lemmy_beta"}
    lemmy.actor(author)
    # Given alice on a.test who follows the Lemmy community, and its Accept
    alice = await rig.api_client("a.test", "alice")
    group_at_a = await rig.services("a.test").actors.get(group)
    assert group_at_a is not None and group_at_a.actor_type == "Group"
    followed = await alice.post(f"/api/v1/accounts/{group_at_a.id}/follow")
    assert followed.status_code == 200 and followed.json()["requested"] is True
    await rig.drain()
    (follow,) = [d for d in lemmy.received if d["type"] == "Follow"]
    assert follow["object"] == group
    accept = {"id": f"{group}#accepts/1", "type": "Accept", "actor": group, "object": follow}
    await deliver(rig, accept, group)
    shown = await alice.get(f"/api/v1/communities/{group_at_a.id}")
    assert shown.json()["membership"] == "member" and shown.json()["local"] is False
    # When the community announces a member's post, as Lemmy wraps it
    announce = fixture(
        "announce-create-page.json", **{"http://enterprise.lemmy.ml": f"http://{LEMMY}"}
    )
    announce["object"]["object"]["content"] = "<p>Shore leave <script>x()</script>rota</p>"
    await deliver(rig, announce, group)
    # Then the Page is a post in the community timeline and alice's home, sanitised
    timeline = await alice.get(f"/api/v1/timelines/community/{group_at_a.id}")
    (page,) = timeline.json()
    assert page["uri"] == f"http://{LEMMY}/post/7"
    assert "Shore leave" in page["content"] and "script" not in page["content"]
    assert page["account"]["acct"] == f"lemmy_beta@{LEMMY}"
    home = (await alice.get("/api/v1/timelines/home")).json()
    assert home[0]["account"]["acct"] == f"main@{LEMMY}" and home[0]["reblog"]["id"] == page["id"]
    # And the same announce again changes nothing
    await deliver(rig, announce | {"id": announce["id"] + "-again"}, group)
    assert len((await alice.get(f"/api/v1/timelines/community/{group_at_a.id}")).json()) == 1
    # When a moderator features it (Lemmy's sticky: an Add to the featured collection, which
    # the community announces), it is the community's pin here; another actor's Add is not
    feature = {
        "id": f"http://{LEMMY}/activities/add/1",
        "type": "Add",
        "actor": f"http://{LEMMY}/u/lemmy_beta",
        "object": page["uri"],
        "target": f"{group}/featured",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    forged = feature | {"id": f"http://{LEMMY}/activities/add/2"}
    await deliver(rig, forged, f"http://{LEMMY}/u/lemmy_beta")
    pins = f"/api/v1/timelines/community/{group_at_a.id}?pinned=true"
    assert (await alice.get(pins)).json() == []
    wrapped = {
        "id": f"http://{LEMMY}/activities/announce/add-1",
        "type": "Announce",
        "actor": group,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": feature,
    }
    await deliver(rig, wrapped, group)
    assert [p["uri"] for p in (await alice.get(pins)).json()] == [page["uri"]]
    # When it removes the post (Lemmy: Announce of a moderator's Delete)
    removal = {
        "id": f"http://{LEMMY}/activities/announce/remove-1",
        "type": "Announce",
        "actor": group,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": fixture("delete-page.json", **{"http://ds9.lemmy.ml": f"http://{LEMMY}"})
        | {"object": page["uri"], "actor": f"http://{LEMMY}/u/lemmy_alpha"},
    }
    await deliver(rig, removal, group)
    # Then it has left the community (and its pins), but stays its author's: a moderator's
    # removal is no deletion
    assert (await alice.get(f"/api/v1/timelines/community/{group_at_a.id}")).json() == []
    assert (await alice.get(pins)).json() == []
    kept = await rig.status("a.test", page["uri"])
    assert kept is not None and kept.deleted_at is None


async def test_an_announced_post_from_another_host_is_fetched_from_its_origin(
    world: tuple[Rig, FakeLemmy],
) -> None:
    """A group may not speak for another host's post: the embedded copy is ignored and the
    post fetched from where it lives; if it is not there, nothing is stored."""
    rig, lemmy = world
    group = lemmy_group(lemmy)
    alice = await rig.api_client("a.test", "alice")
    group_at_a = await rig.services("a.test").actors.get(group)
    assert group_at_a is not None
    await alice.post(f"/api/v1/accounts/{group_at_a.id}/follow")
    announce = fixture(
        "announce-create-page.json", **{"http://enterprise.lemmy.ml": f"http://{LEMMY}"}
    )
    forged = "http://a.test/users/alice/statuses/1"
    announce["object"]["object"] |= {"id": forged, "attributedTo": "http://a.test/users/alice"}
    announce["object"]["actor"] = "http://a.test/users/alice"
    await deliver(rig, announce, group)
    assert await rig.status("a.test", forged) is None
    assert (await alice.get(f"/api/v1/timelines/community/{group_at_a.id}")).json() == []


async def test_a_lemmy_members_page_is_announced_by_our_community(
    world: tuple[Rig, FakeLemmy],
) -> None:
    rig, lemmy = world
    hosts = {"http://ds9.lemmy.ml": f"http://{LEMMY}", "ds9.lemmy.ml": LEMMY}
    member_doc = fixture("actor-person.json", **{"https://enterprise.lemmy.ml": f"http://{LEMMY}"})
    member_doc |= {"id": f"http://{LEMMY}/u/lemmy_alpha", "preferredUsername": "lemmy_alpha"}
    member = lemmy.actor(member_doc)
    # Given our community `main` on a.test with alice in it, and the Lemmy user joining it
    alice = await rig.api_client("a.test", "alice")
    made = await alice.post("/api/v1/communities", json={"name": "main"})
    assert made.status_code == 200, made.text
    follow = {
        "id": f"http://{LEMMY}/activities/follow/1",
        "type": "Follow",
        "actor": member,
        "object": "http://a.test/users/main",
        "to": ["http://a.test/users/main"],
    }
    await deliver(rig, follow, member)
    (accept,) = [d for d in lemmy.received if d["type"] == "Accept"]
    assert accept["actor"] == "http://a.test/users/main"
    # When the member posts a Page to it, as Lemmy sends it (audience: our community)
    ours = {
        "https://enterprise.lemmy.ml/c/main": "http://a.test/users/main",
        "http://enterprise.lemmy.ml/c/main": "http://a.test/users/main",
        **hosts,
    }
    create = fixture("create-page.json", **ours)
    assert create["audience"] == "http://a.test/users/main"
    await deliver(rig, create, member)
    # Then our community announces it, FEP-1b12's way: the Create wrapped in an Announce
    (announce,) = [d for d in lemmy.received if d["type"] == "Announce"]
    assert announce["actor"] == "http://a.test/users/main"
    assert announce["object"]["type"] == "Create"
    assert announce["object"]["id"] == create["id"]
    assert announce["object"]["object"]["id"] == f"http://{LEMMY}/post/1"
    assert "http://a.test/users/main/followers" in announce["cc"]
    # And alice, a local member, reads it in the community
    timeline = await alice.get(f"/api/v1/timelines/community/{made.json()['id']}")
    (page,) = timeline.json()
    assert page["uri"] == f"http://{LEMMY}/post/1" and "test body" in page["content"]
