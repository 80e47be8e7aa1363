"""Announcements that federate (issue 9, point 1) across three divisions.

a.test, b.test and c.test peer each other (c.test in `open` mode, so its intake takes what
anyone sends and only the announcement handler can refuse); x.test lists c.test one-sidedly
and is no peer of anyone. An announcer on a.test publishes through the admin API; b.test and
c.test show it in `/api/v1/announcements` between its start and end (the readers' clock is
moved), follow its edit and its withdrawal; dismissals and reactions stay per user and per
division. Then what must be refused is sent by hand, signed, and changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from federation.fetch import ObjectGone, ObjectNotFound
from federation.keys import load_private_key
from federation.signatures import sign_request
from store import announcements as stored
from store import audit
from store.announcements import AnnouncementRecord
from tests.conftest import MakeConfig
from tests.federation_core.test_flow import post_signed
from tests.rig import Rig
from watercooler.admin import Actor, AdminActions
from watercooler.keyresolver import StoreKeyResolver
from watercooler.services import system_clock

ENTITY_KEYS = {
    "id", "content", "starts_at", "ends_at", "all_day", "published_at", "updated_at", "read",
    "mentions", "statuses", "tags", "emojis", "reactions",
}  # fmt: skip
AP = "application/activity+json"
CONTEXT = ["https://www.w3.org/ns/activitystreams", {"wc": "https://w3id.org/watercooler/ns#"}]


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [
        make_config("a.test", peers=("b.test", "c.test")),
        make_config("b.test", peers=("a.test", "c.test")),
        make_config("c.test", peers=("a.test", "b.test"), mode="open"),
        make_config("x.test", peers=("c.test",), mode="open"),
    ]
    async with Rig(configs) as rig:
        yield rig


async def announcer(rig: Rig, domain: str, name: str) -> httpx.AsyncClient:
    """An API client of `name` on `domain`, who holds the announcer role."""
    client = await rig.api_client(domain, name)
    await AdminActions.of(rig.services(domain)).set_role(Actor.operator(), name, "announcer", True)
    return client


def at(rig: Rig, domain: str, moment: datetime) -> None:
    """Move `domain`'s clock (what its API reads the time from) to `moment`."""
    rig.services(domain).clock = lambda: moment


async def drain_in_real_time(rig: Rig, *domains: str) -> None:
    """Drain with the real clock (signatures are dated now), then put the moved ones back."""
    moved = {d: rig.services(d).clock for d in domains}
    for domain in domains:
        rig.services(domain).clock = system_clock
    await rig.drain()
    for domain, clock in moved.items():
        rig.services(domain).clock = clock


async def shown(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/announcements", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def held(rig: Rig, domain: str, uri: str) -> AnnouncementRecord | None:
    async with rig.services(domain).db.read() as conn:
        return await stored.get_by_uri(conn, uri)


async def post_as_instance(
    rig: Rig, domain: str, inbox: str, document: dict[str, Any]
) -> httpx.Response:
    """POST `document` to `inbox`, signed by `domain`'s instance actor."""
    svc = rig.services(domain)
    pem = await StoreKeyResolver.signing_key(svc.db, svc.uris.instance_key_id)
    raw = json.dumps(document).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST",
        inbox,
        headers,
        raw,
        key_id=svc.uris.instance_key_id,
        private_key=load_private_key(pem),
        now=datetime.now(UTC),
    )
    async with httpx.AsyncClient(transport=rig.router) as client:
        return await client.post(inbox, content=raw, headers=headers)


def create(actor: str, announcement: dict[str, Any], kind: str = "Create") -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "id": f"{announcement['id']}/{kind.lower()}",
        "type": kind,
        "actor": actor,
        "to": [],
        "object": announcement,
    }


def announcement(domain: str, number: int, author: str, text: str) -> dict[str, Any]:
    return {
        "id": f"http://{domain}/announcements/{number}",
        "type": "wc:Announcement",
        "attributedTo": f"http://{domain}/users/{author}",
        "content": f"<p>{text}</p>",
        "published": "2026-01-05T09:00:00Z",
        "updated": "2026-01-05T09:00:00Z",
    }


async def test_an_announcement_reaches_every_division_and_follows_its_changes(rig: Rig) -> None:
    comms = await announcer(rig, "a.test", "comms")
    bob = await rig.api_client("b.test", "bob")
    bea = await rig.api_client("b.test", "bea")
    carol = await rig.api_client("c.test", "carol")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    end = start + timedelta(hours=2)

    answer = await comms.post(
        "/api/v1/admin/announcements",
        json={
            "text": "All-hands on Friday, ask @bob@b.test #allhands",
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
        },
    )
    assert answer.status_code == 200, answer.text
    published = answer.json()
    assert set(published) == ENTITY_KEYS
    assert 'href="http://a.test/tags/allhands"' in published["content"]
    assert 'href="http://b.test/@bob" class="u-url mention"' in published["content"]
    await rig.drain()

    for client in (bob, carol):
        assert await shown(client) == []  # not started yet
    for domain in ("b.test", "c.test"):
        at(rig, domain, start + timedelta(hours=1))
    [at_b] = await shown(bob)
    [at_c] = await shown(carol)
    assert set(at_b) == ENTITY_KEYS
    assert "All-hands on Friday" in at_b["content"] and "All-hands on Friday" in at_c["content"]
    assert at_b["starts_at"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert at_b["ends_at"] == end.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert at_b["tags"] == [{"name": "allhands", "url": "http://b.test/tags/allhands"}]
    assert [m["acct"] for m in at_b["mentions"]] == ["bob"]  # bob is local on b.test
    assert at_b["read"] is False and at_b["all_day"] is False

    # dismissing and reacting: per user, and per division
    assert (await bob.post(f"/api/v1/announcements/{at_b['id']}/dismiss")).status_code == 200
    assert await shown(bob) == []
    [dismissed] = await shown(bob, with_dismissed="true")
    assert dismissed["read"] is True
    assert len(await shown(bea)) == 1
    thumbs = "/api/v1/announcements/{}/reactions/%F0%9F%91%8D"
    assert (await bob.put(thumbs.format(at_b["id"]))).status_code == 200
    assert (await bob.put(thumbs.format(at_b["id"]))).status_code == 200  # twice: one reaction
    [seen_by_bea] = await shown(bea)
    assert seen_by_bea["reactions"] == [
        {"name": "👍", "count": 1, "me": False, "url": None, "static_url": None}
    ]
    [seen_by_bob] = await shown(bob, with_dismissed="true")
    assert seen_by_bob["reactions"][0]["me"] is True
    assert (await shown(carol))[0]["reactions"] == []
    refused = await bob.put(f"/api/v1/announcements/{at_b['id']}/reactions/nope")
    assert refused.status_code == 422

    # after its end, no division shows it
    for domain in ("b.test", "c.test"):
        at(rig, domain, end + timedelta(minutes=1))
    assert await shown(bea) == [] and await shown(carol) == []
    for domain in ("b.test", "c.test"):
        at(rig, domain, start + timedelta(hours=1))

    # an edit follows
    edited = await comms.put(
        f"/api/v1/admin/announcements/{published['id']}",
        json={"text": "All-hands moved to Monday", "starts_at": start.isoformat()},
    )
    assert edited.status_code == 200, edited.text
    await drain_in_real_time(rig, "b.test", "c.test")
    [after_edit] = await shown(carol)
    assert "moved to Monday" in after_edit["content"] and after_edit["ends_at"] is None
    assert after_edit["updated_at"] > at_c["updated_at"]
    assert (await bob.delete(thumbs.format(at_b["id"]))).status_code == 200
    assert (await shown(bea))[0]["reactions"] == []

    # and so does the withdrawal
    gone = await comms.delete(f"/api/v1/admin/announcements/{published['id']}")
    assert gone.status_code == 200
    await drain_in_real_time(rig, "b.test", "c.test")
    assert await shown(bea) == [] and await shown(carol, with_dismissed="true") == []
    assert await shown(bob, with_dismissed="true") == []
    assert (await bob.post(f"/api/v1/announcements/{at_b['id']}/dismiss")).status_code == 404
    async with rig.services("a.test").db.read() as conn:
        actions = [e.action for e in await audit.chain(conn) if e.action.startswith("announce")]
    assert actions == ["announcement.publish", "announcement.edit", "announcement.withdraw"]


async def test_only_admins_and_announcers_publish(rig: Rig) -> None:
    dave = await rig.api_client("a.test", "dave")
    payload = {"text": "Free cake"}
    assert (await dave.post("/api/v1/admin/announcements", json=payload)).status_code == 403
    assert (await dave.get("/api/v1/admin/announcements")).status_code == 403
    admin = await rig.admin_client("a.test")
    answer = await admin.post("/api/v1/admin/announcements", json=payload)
    assert answer.status_code == 200
    assert (await admin.post("/api/v1/admin/announcements", json={"text": " "})).status_code == 422
    backwards = {"text": "x", "starts_at": "2026-02-02T10:00:00Z", "ends_at": "2026-02-01T10:00Z"}
    assert (await admin.post("/api/v1/admin/announcements", json=backwards)).status_code == 422
    assert (
        await admin.post("/api/v1/admin/announcements", json={"text": "x", "starts_at": "soon"})
    ).status_code == 422
    assert (
        await dave.put(f"/api/v1/admin/announcements/{answer.json()['id']}", json=payload)
    ).status_code == 403
    assert (await admin.put("/api/v1/admin/announcements/999", json=payload)).status_code == 404
    listed = await admin.get("/api/v1/admin/announcements")
    assert [a["id"] for a in listed.json()] == [answer.json()["id"]]
    await AdminActions.of(rig.services("a.test")).set_role(
        Actor.operator(), "dave", "announcer", True
    )
    assert (await dave.post("/api/v1/admin/announcements", json=payload)).status_code == 200
    await AdminActions.of(rig.services("a.test")).set_role(
        Actor.operator(), "dave", "announcer", False
    )
    assert (await dave.post("/api/v1/admin/announcements", json=payload)).status_code == 403


async def test_what_is_not_a_peer_instance_actors_to_say_is_refused(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="inbox.worker")
    c, b = rig.services("c.test"), rig.services("b.test")
    await rig.user("x.test", "mallory")
    await rig.user("a.test", "mallory")
    carol = await announcer(rig, "c.test", "carol")

    # a non-peer's instance actor, to a division whose intake is open
    from_x = announcement("x.test", 1, "mallory", "Bonus for all, log in at x.test")
    answer = await post_as_instance(
        rig, "x.test", c.uris.shared_inbox, create(x_actor(rig), from_x)
    )
    assert answer.status_code == 202
    await rig.drain()
    assert await held(rig, "c.test", from_x["id"]) is None
    assert "x.test is not a peer" in caplog.text

    # an ordinary account of a peer
    from_mallory = announcement("a.test", 2, "mallory", "I am an announcement")
    document = create("http://a.test/users/mallory", from_mallory)
    document["id"] = "http://a.test/users/mallory/statuses/2/activity"
    answer = await post_signed(rig, "a.test", "mallory", b.uris.shared_inbox, document)
    assert answer.status_code == 202
    await rig.drain()
    assert await held(rig, "b.test", from_mallory["id"]) is None
    assert "is not the instance actor of a.test" in caplog.text

    # a peer's instance actor speaking for an account, or an object, of another host
    a_actor = rig.services("a.test").uris.instance_actor
    for_c = announcement("a.test", 3, "mallory", "x") | {
        "attributedTo": "http://c.test/users/carol"
    }
    await post_as_instance(rig, "a.test", b.uris.shared_inbox, create(a_actor, for_c))
    await rig.drain()
    assert await held(rig, "b.test", for_c["id"]) is None

    # an Update or Delete of c.test's announcement sent by a.test's instance actor
    published = await carol.post("/api/v1/admin/announcements", json={"text": "Office closed"})
    await rig.drain()
    uri = f"http://c.test/announcements/{published.json()['id']}"
    before = await held(rig, "b.test", uri)
    assert before is not None and "Office closed" in before.content
    forged = announcement("c.test", 0, "carol", "Office open after all") | {
        "id": uri,
        "updated": "2099-01-01T00:00:00Z",
    }
    update = create(a_actor, forged, "Update") | {"id": "http://a.test/forged-update"}
    await post_as_instance(rig, "a.test", b.uris.shared_inbox, update)
    delete = {
        "@context": CONTEXT,
        "id": "http://a.test/forged-delete",
        "type": "Delete",
        "actor": a_actor,
        "object": {"id": uri, "type": "Tombstone"},
    }
    await post_as_instance(rig, "a.test", b.uris.shared_inbox, delete)
    await rig.drain()
    assert await held(rig, "b.test", uri) == before
    assert "cannot speak for" in caplog.text and "cannot withdraw" in caplog.text


def x_actor(rig: Rig) -> str:
    return rig.services("x.test").uris.instance_actor


async def test_a_payload_of_another_implementation_is_read_tolerantly(rig: Rig) -> None:
    """Compacted `wc:` terms, `type` as a list, `attributedTo` as an object, `contentMap`
    only, times with an offset and fractional seconds, hostile HTML."""
    await rig.user("a.test", "comms")
    b = rig.services("b.test")
    a_actor = rig.services("a.test").uris.instance_actor
    document = {
        "@context": CONTEXT,
        "id": "http://a.test/ext/announcements/7/activity",
        "type": "Create",
        "actor": {"id": a_actor, "type": "Application"},
        "to": [b.uris.instance_actor],
        "object": {
            "id": "http://a.test/ext/announcements/7",
            "type": ["Object", "wc:Announcement"],
            "attributedTo": {"type": "Person", "id": "http://a.test/users/comms"},
            "contentMap": {"en": '<p>Fire drill <script>alert(1)</script><a href="javascript:x">'
                           "here</a></p>"},
            "wc:allDay": True,
            "startTime": "2020-03-02T09:00:00+02:00",
            "endTime": "2099-03-02T18:00:00.123456Z",
            "published": "2020-03-01T10:00:00.5Z",
            "tag": {"type": "Hashtag", "name": "#Safety", "href": "http://a.test/tags/safety"},
        },
    }  # fmt: skip
    answer = await post_as_instance(rig, "a.test", b.uris.shared_inbox, document)
    assert answer.status_code == 202
    await rig.drain()
    record = await held(rig, "b.test", "http://a.test/ext/announcements/7")
    assert record is not None
    assert record.all_day is True
    assert record.starts_at == datetime(2020, 3, 2, 7, 0, tzinfo=UTC)
    assert "Fire drill" in record.content and "script" not in record.content
    assert "javascript" not in record.content
    assert record.tags == ("Safety",)
    reader = await rig.api_client("b.test", "reader")
    [entity] = await shown(reader)
    assert entity["all_day"] is True and entity["starts_at"] == "2020-03-02T07:00:00.000Z"

    # a division that stops being a peer (as when the org manifest drops it) stops showing
    b.policy.update(peers=["c.test"])
    assert await shown(reader) == []


async def test_the_object_is_served_at_its_id_to_peers_only(rig: Rig) -> None:
    carol = await announcer(rig, "c.test", "carol")
    published = await carol.post("/api/v1/admin/announcements", json={"text": "Badge day #hr"})
    uri = f"http://c.test/announcements/{published.json()['id']}"
    document = await rig.services("b.test").fetcher.fetch_json(uri)
    assert document["id"] == uri and document["type"] == "Announcement"
    assert document["attributedTo"] == "http://c.test/users/carol"
    assert document["tag"] == [{"type": "Hashtag", "href": "http://c.test/tags/hr", "name": "#hr"}]
    with pytest.raises(ObjectNotFound):  # x.test is no peer of c.test (whose intake is open)
        await rig.services("x.test").fetcher.fetch_json(uri)
    async with rig.client("c.test") as anonymous:
        assert (await anonymous.get(uri, headers={"Accept": AP})).status_code == 404
    await carol.delete(f"/api/v1/admin/announcements/{published.json()['id']}")
    with pytest.raises(ObjectGone):
        await rig.services("b.test").fetcher.fetch_json(uri)
