"""Mastodon.py, the Python client library, across two live divisions as a person uses it:
both sign in through the authorization-code flow (the sign-in and consent forms driven over
HTTP), then post, read timelines, find a colleague on the other division by handle, follow
her, see her posts arrive, favourite, boost, reply, get notified, find her post by URL and
page the home timeline. Media, streaming, lists, pins and filters through Mastodon.py are in
tests/watercooler/test_*_clients.py and test_streaming.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from mastodon import Mastodon

from tests.clients.network import Division, api_endpoints, two_divisions, wait_for
from tests.watercooler.test_oauth_clients import OOB, browser_code

SALES, ENG = "sales.test", "eng.test"
TIMEOUT = 15
SCOPES = ["read", "write", "follow"]


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Division]]:
    with two_divisions(tmp_path_factory.mktemp("mastodon-py")) as found:
        yield found


@pytest.fixture(autouse=True)
def split_horizon(divisions: dict[str, Division], monkeypatch: pytest.MonkeyPatch) -> None:
    """The clients reach each division by its domain, as employees' apps do: this process's
    name look-ups send `sales.test` and `eng.test` to their loopback ports (what the
    company's DNS and `[federation.resolve]` do for real)."""
    real = socket.getaddrinfo
    table = {domain: division.live.port for domain, division in divisions.items()}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return real("127.0.0.1", table[host], *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def base_url(division: Division) -> str:
    return f"http://{division.live.domain}"


def sign_in(division: Division) -> Mastodon:
    """Register an app, send the person to the authorize page, exchange the code."""
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py test",
        scopes=SCOPES,
        redirect_uris=OOB,
        api_base_url=base_url(division),
        request_timeout=TIMEOUT,
    )
    api = Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=base_url(division),
        request_timeout=TIMEOUT,
    )
    url = api.auth_request_url(scopes=SCOPES, allow_http=True)
    assert url.startswith(f"{base_url(division)}/oauth/authorize?")  # from RFC 8414 metadata
    code = browser_code(base_url(division), url, login=division.username)
    api.log_in(code=code, scopes=SCOPES, allow_http=True)
    return api


def test_a_day_with_mastodon_py_across_two_divisions(divisions: dict[str, Division]) -> None:
    sales, eng = divisions[SALES], divisions[ENG]
    offsets = {domain: division.log_offset() for domain, division in divisions.items()}
    alice, bob = sign_in(sales), sign_in(eng)
    assert alice.account_verify_credentials().username == "alice"
    assert alice.instance().version.startswith("4.3.0 (compatible; Watercooler")

    hello = alice.status_post("Hello from Mastodon.py #watercooler", visibility="public")
    assert hello.application.name == "Mastodon.py test"
    assert hello.id in [s.id for s in alice.timeline_home()]
    assert hello.id in [s.id for s in alice.timeline_public(local=True)]

    found = alice.search_v2(f"@{eng.handle}", resolve=True).accounts
    assert [a.acct for a in found] == [eng.handle]
    bob_there = found[0]
    alice.account_follow(bob_there.id)
    wait_for(
        "bob to accept alice's follow",
        lambda: alice.account_relationships(bob_there.id)[0].following,
    )

    news = bob.status_post(f"Sprint review at 3 @{sales.handle}", visibility="public")
    arrived = wait_for(
        "bob's post in alice's home",
        lambda: next((s for s in alice.timeline_home() if s.uri == news.uri), None),
    )
    assert arrived.account.acct == eng.handle
    mentions = alice.notifications(types=["mention"])
    assert [n.status.uri for n in mentions] == [news.uri]

    alice.status_favourite(arrived.id)
    alice.status_reblog(arrived.id)
    reply = alice.status_post("See you there", in_reply_to_id=arrived.id)
    assert reply.in_reply_to_id == arrived.id
    wait_for(
        "the favourite, boost and reply on bob's side",
        lambda: {n.type for n in bob.notifications()} >= {"favourite", "reblog", "mention"},
    )
    wait_for("the counts on bob's post", lambda: bob.status(news.id).favourites_count == 1)
    context = wait_for(
        "alice's reply in the thread on bob's side", lambda: bob.status_context(news.id).descendants
    )
    assert [s.uri for s in context] == [reply.uri]

    by_url = alice.search_v2(news.url or news.uri, resolve=True).statuses
    assert [s.uri for s in by_url] == [news.uri]

    first = alice.timeline_home(limit=1)
    walked = [s.id for s in first]
    page = alice.fetch_next(first)
    while page and len(walked) < 20:
        walked += [s.id for s in page]
        page = alice.fetch_next(page)
    assert walked == [s.id for s in alice.timeline_home(limit=40)]

    for domain, offset in offsets.items():
        seen = divisions[domain].requests_since(offset)
        print(f"\nMastodon.py on {domain}:", *api_endpoints(seen), sep="\n  ")
        failed = [r for r in seen if r[1].startswith("/api/") and r[2] >= 400]
        assert not failed, f"{domain}: {failed}"
