"""Three divisions as separate `watercooler serve` processes on loopback, driven through the
CLI and HTTP (C2S with bearer tokens), peered through [federation.resolve].

Waits are bounded polls; every process is stopped at the end.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from federation.keys import load_private_key
from federation.signatures import sign_request
from tests.live import LiveInstance

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AP = "application/activity+json"
USERS = {"sales.test": "alice", "eng.test": "bob", "hr.test": "carol"}
DELIVERY = "[delivery]\nretry_base = 0.5\ncircuit_cooldown = 1\ntimeout = 5\n"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[dict[str, LiveInstance]]:
    instances = {domain: LiveInstance(domain, tmp_path / domain) for domain in USERS}
    for live in instances.values():
        configure(live, instances)
        live.cli("user", "add", USERS[live.domain], "--password-stdin", stdin="correct-horse-1\n")
    try:
        for live in instances.values():
            live.start()
        yield instances
    finally:
        for live in instances.values():
            live.stop()
        while Client.opened:
            Client.opened.pop().close()


def configure(
    live: LiveInstance, everyone: dict[str, LiveInstance], *, workers: bool = True
) -> None:
    resolve = {domain: other.address for domain, other in everyone.items()}
    peers = [domain for domain in everyone if domain != live.domain]
    live.write_config(peers=peers, resolve=resolve, workers=workers, extra=DELIVERY)


class Client:
    """A C2S client of one user on one live instance; closed when the rig stops."""

    opened: ClassVar[list[httpx.Client]] = []

    def __init__(self, live: LiveInstance) -> None:
        self.live = live
        self.name = USERS[live.domain]
        self.actor = f"http://{live.domain}/users/{self.name}"
        token = live.token(self.name)
        self.http = httpx.Client(
            base_url=live.url,
            headers={"Host": live.domain, "Authorization": f"Bearer {token}"},
            timeout=10,
        )
        Client.opened.append(self.http)

    def send(self, document: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"/users/{self.name}/outbox", json=document)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def post(self, text: str, **extra: Any) -> dict[str, Any]:
        note = {
            "type": "Note",
            "content": text,
            "to": [AS_PUBLIC],
            "cc": [f"{self.actor}/followers"],
        }
        return self.send({**note, **extra})

    def follow(self, actor: str) -> dict[str, Any]:
        return self.send({"type": "Follow", "object": actor})

    def inbox_objects(self) -> list[str]:
        """Ids of the objects of Create activities received, newest first."""
        page = self.http.get(f"/users/{self.name}/inbox").json()
        return [
            item["object"]["id"] if isinstance(item["object"], dict) else item["object"]
            for item in page["orderedItems"]
            if item["type"] == "Create"
        ]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    """Poll until `condition` holds; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def followers_of(live: LiveInstance, name: str) -> list[str]:
    url = f"{live.url}/users/{name}/followers?page=1"
    return httpx.get(url, headers={"Host": live.domain, "Accept": AP}, timeout=10).json()[
        "orderedItems"
    ]


def deliveries(live: LiveInstance) -> list[tuple[str, str, int]]:
    with sqlite3.connect(live.folder / "db.sqlite3") as conn:
        return conn.execute("SELECT host, state, attempts FROM deliveries").fetchall()


def test_follow_posts_and_latency(rig: dict[str, LiveInstance]) -> None:
    alice, bob = Client(rig["sales.test"]), Client(rig["eng.test"])
    bob.follow(alice.actor)
    wait_for(lambda: followers_of(rig["sales.test"], "alice") == [bob.actor], "the follow")
    latencies = []
    for n in range(20):
        note = alice.post(f"Update {n} from #sales")["object"]
        latencies.append(
            wait_for(lambda note_id=note["id"]: note_id in bob.inbox_objects(), f"post {n}")
        )
    received = bob.inbox_objects()
    assert len(received) == len(set(received)) == 20
    print(
        f"\nlatency outbox->follower inbox: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} posts"
    )
    # Alice's and Bob's messages to each other (the instance actors' link and the posts'
    # copies for the organisation timeline elsewhere are left out).
    ours = "(activity_uri LIKE '%/users/alice%' OR activity_uri LIKE '%/users/bob%')"
    delivered = processed = 0
    for live in (rig["sales.test"], rig["eng.test"]):
        with sqlite3.connect(live.folder / "db.sqlite3") as conn:
            delivered += conn.execute(
                f"SELECT count(*) FROM deliveries WHERE state = 'sent' AND {ours}"
                " AND host IN ('sales.test', 'eng.test')"
            ).fetchone()[0]
            processed += conn.execute(
                f"SELECT count(*) FROM inbox_items WHERE state = 'done' AND {ours}"
            ).fetchone()[0]
    assert delivered == processed == 22  # the Follow, its Accept and 20 posts
    print(f"messages delivered {delivered}, processed {processed}")


def test_peer_down_for_a_while_receives_everything_once_back(rig: dict[str, LiveInstance]) -> None:
    alice, carol = Client(rig["sales.test"]), Client(rig["hr.test"])
    carol.follow(alice.actor)
    wait_for(lambda: followers_of(rig["sales.test"], "alice") == [carol.actor], "the follow")
    rig["hr.test"].stop()
    sent = [alice.post(f"While you were out {n}")["object"]["id"] for n in range(5)]
    wait_for(
        lambda: any(state == "retrying" for host, state, _ in deliveries(rig["sales.test"])),
        "a retry",
    )
    status = rig["sales.test"].cli("queue", "status").stdout
    assert "hr.test" in status
    time.sleep(1.5)  # down a while: several attempts fail, the circuit opens
    rig["hr.test"].start()
    wait_for(lambda: set(sent) <= set(carol.inbox_objects()), "delivery after the outage", 60)
    assert sorted(carol.inbox_objects()) == sorted(sent)  # each exactly once
    rows = deliveries(rig["sales.test"])
    retries = sum(attempts - 1 for host, state, attempts in rows if host == "hr.test")
    assert all(state == "sent" for host, state, _ in rows if host == "hr.test")
    print(f"\noutage: {len(sent)} posts, {retries} retries, all delivered once")


def test_kill_9_of_the_sender_mid_delivery_loses_nothing(rig: dict[str, LiveInstance]) -> None:
    alice, bob = Client(rig["sales.test"]), Client(rig["eng.test"])
    bob.follow(alice.actor)
    wait_for(lambda: followers_of(rig["sales.test"], "alice") == [bob.actor], "the follow")
    rig["eng.test"].stop()
    sent = [alice.post(f"Before the crash {n}")["object"]["id"] for n in range(5)]
    rig["sales.test"].kill()  # acknowledged (201) posts are in the queue on disk
    rig["eng.test"].start()
    rig["sales.test"].start()
    wait_for(lambda: set(sent) <= set(bob.inbox_objects()), "delivery after the restart", 60)
    assert sorted(bob.inbox_objects()) == sorted(sent)


def test_stale_or_forged_signatures_are_refused_and_change_nothing(
    rig: dict[str, LiveInstance],
) -> None:
    eng = rig["eng.test"]
    with sqlite3.connect(rig["sales.test"].folder / "db.sqlite3") as conn:
        (pem,) = conn.execute(
            "SELECT private_key_pem FROM keys WHERE key_uri = 'http://sales.test/users/alice#main-key'"
        ).fetchone()
    key = load_private_key(pem)
    body = (
        b'{"@context":"https://www.w3.org/ns/activitystreams","id":"http://sales.test/x/1",'
        b'"type":"Follow","actor":"http://sales.test/users/alice","object":"http://eng.test/users/bob"}'
    )

    def post(now: datetime, body_sent: bytes = body) -> int:
        headers = sign_request(
            "POST",
            "http://eng.test/inbox",
            {"Content-Type": AP},
            body,
            key_id="http://sales.test/users/alice#main-key",
            private_key=key,
            now=now,
        )
        response = httpx.post(
            f"{eng.url}/inbox",
            content=body_sent,
            headers={**headers, "Content-Type": AP},
            timeout=10,
        )
        return response.status_code

    assert post(datetime.now(UTC) - timedelta(hours=2)) == 401  # stale / replayed
    assert post(datetime.now(UTC), body.replace(b"bob", b"bot")) == 401  # forged body
    with sqlite3.connect(eng.folder / "db.sqlite3") as conn:
        stored = "SELECT count(*) FROM inbox_items WHERE activity_uri = 'http://sales.test/x/1'"
        assert conn.execute(stored).fetchone() == (0,)
    assert post(datetime.now(UTC)) == 202  # the same, properly signed, is taken


def test_kill_9_during_inbound_processing_loses_nothing(rig: dict[str, LiveInstance]) -> None:
    alice, bob = Client(rig["sales.test"]), Client(rig["eng.test"])
    eng = rig["eng.test"]
    bob.follow(alice.actor)
    wait_for(lambda: followers_of(rig["sales.test"], "alice") == [bob.actor], "the follow")
    # eng.test takes deliveries (202, stored) but runs no worker for now.
    eng.stop()
    configure(eng, rig, workers=False)
    eng.start()
    sent = [alice.post(f"Inbound {n}")["object"]["id"] for n in range(8)]
    wait_for(
        lambda: (
            [s for h, s, _ in deliveries(rig["sales.test"]) if h == "eng.test"].count("sent")
            >= len(sent) + 1
        ),
        "eng.test to acknowledge every delivery",
    )
    # A separate worker starts processing and is killed -9 mid-way; then the server too.
    worker = eng.spawn("worker")
    time.sleep(0.3)
    worker.kill()
    worker.wait(timeout=10)
    eng.kill()
    configure(eng, rig, workers=True)
    eng.start()
    wait_for(lambda: set(sent) <= set(bob.inbox_objects()), "processing after the crash", 60)
    assert sorted(bob.inbox_objects()) == sorted(sent)
    with sqlite3.connect(eng.folder / "db.sqlite3") as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM inbox_items GROUP BY state"))
        stored = conn.execute(
            "SELECT count(*) FROM statuses WHERE uri LIKE 'http://sales.test/%'"
        ).fetchone()[0]
    assert stored == len(sent)  # each exactly once
    assert set(states) == {"done"}
    print(f"\ninbound crash: {states['done']} activities processed exactly once")


def status_at(live: LiveInstance, uri: str) -> tuple[Any, ...] | None:
    """(content, replies, reblogs, favourites, deleted_at, in_reply_to_uri) of a stored post."""
    with sqlite3.connect(live.folder / "db.sqlite3") as conn:
        return conn.execute(
            "SELECT content, replies_count, reblogs_count, favourites_count, deleted_at,"
            " in_reply_to_uri FROM statuses WHERE uri = ?",
            (uri,),
        ).fetchone()


def test_conversation_across_three_divisions(rig: dict[str, LiveInstance]) -> None:
    sales, eng, hr = rig["sales.test"], rig["eng.test"], rig["hr.test"]
    alice, bob, carol = Client(sales), Client(eng), Client(hr)
    bob.follow(alice.actor)
    carol.follow(bob.actor)
    wait_for(lambda: followers_of(sales, "alice") == [bob.actor], "bob follows alice")
    wait_for(lambda: followers_of(eng, "bob") == [carol.actor], "carol follows bob")

    # A question on Sales, answered on Engineering, thanked from HR: one thread everywhere.
    question = alice.post("Who owns the pricing export?")["object"]["id"]
    wait_for(lambda: status_at(eng, question) is not None, "the question at eng")
    answer = bob.post("@alice@sales.test we do", inReplyTo=question)["object"]["id"]
    wait_for(lambda: status_at(sales, answer) is not None, "the answer at sales")
    wait_for(lambda: status_at(hr, answer) is not None, "the answer at hr")
    assert status_at(hr, question) is not None  # the parent was fetched for the thread
    thanks = carol.post("@bob@eng.test thanks!", inReplyTo=answer)["object"]["id"]
    wait_for(lambda: status_at(eng, thanks) is not None, "the thanks at eng")
    assert status_at(eng, thanks)[5] == answer  # type: ignore[index]
    wait_for(lambda: status_at(sales, question)[1] == 1, "reply count at the origin")  # type: ignore[index]

    # Boost and like from Engineering reach Sales, and their undos too.
    like = bob.send({"type": "Like", "object": question})
    boost = bob.send({"type": "Announce", "object": question})
    wait_for(lambda: status_at(sales, question)[2:4] == (1, 1), "boost and like at sales")  # type: ignore[index]
    bob.send({"type": "Undo", "object": like["id"]})
    bob.send({"type": "Undo", "object": boost["id"]})
    wait_for(lambda: status_at(sales, question)[2:4] == (0, 0), "undos at sales")  # type: ignore[index]

    # Edit and delete propagate.
    note = alice.post("All hands at 3pm")["object"]
    wait_for(lambda: status_at(eng, note["id"]) is not None, "the note at eng")
    alice.send({"type": "Update", "object": {**note, "content": "All hands at 4pm"}})
    wait_for(lambda: "4pm" in status_at(eng, note["id"])[0], "the edit at eng")  # type: ignore[index]
    alice.send({"type": "Delete", "object": note["id"]})
    wait_for(lambda: status_at(eng, note["id"])[4] is not None, "the delete at eng")  # type: ignore[index]

    # Followers-only never reaches HR, which does not follow alice: not by delivery...
    secret = alice.send(
        {
            "type": "Note",
            "content": "Pricing change, do not share",
            "to": [f"{alice.actor}/followers"],
        }
    )["object"]["id"]
    wait_for(lambda: status_at(eng, secret) is not None, "the secret at eng")
    time.sleep(0.3)
    assert status_at(hr, secret) is None
    # ...nor by fetching its URL, unsigned or signed by HR's instance.
    unsigned = httpx.get(f"{sales.url}{secret.removeprefix('http://sales.test')}",
                         headers={"Host": "sales.test", "Accept": AP}, timeout=10)  # fmt: skip
    assert unsigned.status_code == 404
    refused = carol.http.post(
        f"/users/{carol.name}/outbox", json={"type": "Like", "object": secret}
    )
    assert refused.status_code == 422  # hr.test could not fetch it: 404 at the origin
    assert status_at(hr, secret) is None
