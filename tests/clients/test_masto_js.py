"""masto.js, a JavaScript client library used by web apps (Elk, Phanpy), against two live
divisions: sign-in through the OAuth authorization-code flow, then what a person does —
post, read timelines, find and follow a colleague on the other division, see her posts
arrive, favourite and boost, get notified; and media upload and streaming.

The scripts live in tests/clients/js (pinned in package-lock.json; `make test` runs `npm ci`).
Each prints one JSON object; this file asserts on it and checks the server's own answers.
"""

from __future__ import annotations

import functools
import json
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.clients.network import PASSWORD, Division, api_endpoints, shape, two_divisions

JS = Path(__file__).with_name("js")
SALES, ENG = "sales.test", "eng.test"


@functools.cache
def missing_node() -> str:
    """What keeps the scripts from running here, if anything."""
    if shutil.which("node") is None:
        return "node is not installed: `make test` installs it (apt-get install nodejs npm)"
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30)
    if int(version.stdout.strip().lstrip("v").split(".")[0]) < 20:
        return f"masto 7 needs Node 20 or later (AbortSignal.any); this is {version.stdout}"
    if not (JS / "node_modules" / "masto").is_dir():
        return f"masto is not installed: run `make test`, or `npm ci` in {JS}"
    return ""


def node(script: str, settings: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Run tests/clients/js/`script` with `settings`; its JSON output, or fail with its
    stderr."""
    problem = missing_node()
    if problem:
        pytest.fail(problem)
    done = subprocess.run(
        ["node", str(JS / script), json.dumps(settings)],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Division]]:
    with two_divisions(tmp_path_factory.mktemp("masto")) as found:
        yield found


@pytest.fixture(scope="module")
def tokens(divisions: dict[str, Division]) -> dict[str, str]:
    """A token per user, each from the authorization-code flow driven by oauth_login.mjs."""
    return {domain: sign_in(division)["token"] for domain, division in divisions.items()}


def sign_in(division: Division) -> dict[str, Any]:
    return node(
        "oauth_login.mjs",
        {"url": division.url, "username": division.username, "password": PASSWORD},
    )


def settings(divisions: dict[str, Division], tokens: dict[str, str]) -> dict[str, Any]:
    sales, eng = divisions[SALES], divisions[ENG]
    return {
        "alice": {"url": sales.url, "token": tokens[SALES], "handle": sales.handle},
        "bob": {"url": eng.url, "token": tokens[ENG], "handle": eng.handle},
        "aliceHandle": sales.handle,
    }


def test_sign_in_with_the_authorization_code_flow(divisions: dict[str, Division]) -> None:
    sales = divisions[SALES]
    offset = sales.log_offset()
    answer = sign_in(sales)
    assert answer["scope"] == "read write follow push"
    assert answer["tokenType"] == "Bearer"
    assert answer["appName"] == "masto.js test"
    assert answer["state"] == answer["sentState"]  # the redirect carried the state back
    assert answer["calls"] == [
        "POST /api/v1/apps",
        "POST /oauth/token",
        "GET /api/v1/apps/verify_credentials",
    ]
    seen = sales.requests_since(offset)
    # The client's requests, without the divisions' own traffic (their instance actors link).
    assert [(m, p) for m, p, _ in seen if p.startswith(("/api/", "/oauth/"))] == [
        ("POST", "/api/v1/apps"),
        ("GET", "/oauth/authorize"),  # the browser: sign-in page
        ("POST", "/oauth/sign_in"),
        ("GET", "/oauth/authorize"),  # consent page
        ("POST", "/oauth/authorize"),  # -> 302 to the app's redirect URI with the code
        ("POST", "/oauth/token"),
        ("GET", "/api/v1/apps/verify_credentials"),
    ]
    with sales.api(answer["token"]) as api:
        me = api.get("/api/v1/accounts/verify_credentials")
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_post_read_follow_across_divisions_favourite_boost_and_notifications(
    divisions: dict[str, Division], tokens: dict[str, str]
) -> None:
    sales, eng = divisions[SALES], divisions[ENG]
    offsets = {domain: division.log_offset() for domain, division in divisions.items()}
    result = node("masto_flow.mjs", settings(divisions, tokens))

    me = result["me"]
    assert (me["username"], me["acct"], me["source"]) == ("alice", "alice", True)
    instance = result["instance"]
    assert instance["v1Uri"] == SALES and instance["v2Domain"] == SALES
    assert instance["v1MaxCharacters"] == instance["v2MaxCharacters"] > 0
    assert instance["v2Streaming"] == f"ws://{SALES}"

    posted = result["posted"]
    with sales.api(tokens[SALES]) as api:
        on_server = api.get(f"/api/v1/statuses/{posted['id']}").json()
        home = [s["id"] for s in api.get("/api/v1/timelines/home").json()]
        assert api.get("/api/v1/accounts/verify_credentials").json()["id"] == me["id"]
    assert on_server["id"] == posted["id"] == result["fetched"]["id"]
    assert on_server["uri"] == posted["uri"] and on_server["uri"].startswith(f"http://{SALES}/")
    assert posted["content"] == on_server["content"]
    assert 'href="http://sales.test/tags/watercooler"' in posted["content"]
    assert posted["id"] in result["homeIds"] and posted["id"] in result["publicIds"]

    assert result["searchAccounts"] == [eng.handle]
    assert result["relationship"]["following"] is True
    bob_post = result["bobPost"]
    assert bob_post["uri"].startswith(f"http://{ENG}/")
    arrived = result["arrived"]
    assert arrived["uri"] == bob_post["uri"] and arrived["account"] == eng.handle
    assert arrived["id"] in home  # the server's own home timeline agrees
    assert result["favourited"]["favourited"] is True
    assert result["favourited"]["favouritesCount"] == 1
    assert result["boost"]["reblogOf"] == bob_post["uri"]
    assert result["boost"]["reblogReblogged"] is True
    assert result["statusSearch"] == [bob_post["uri"]]

    types = {(n["type"], n["account"], n["status"]) for n in result["notifications"]}
    assert ("favourite", eng.handle, posted["uri"]) in types
    assert ("follow", eng.handle, None) in types
    assert sorted((n["type"], n["account"], n["status"]) for n in result["bobNotifications"]) == [
        ("favourite", sales.handle, bob_post["uri"]),
        ("reblog", sales.handle, bob_post["uri"]),
    ]
    with eng.api(tokens[ENG]) as api:
        bob_side = api.get(f"/api/v1/statuses/{bob_post['id']}").json()
    assert bob_side["favourites_count"] == 1 and bob_side["reblogs_count"] == 1

    pages = result["homePages"]
    assert all(len(page) <= 2 for page in pages) and len(pages) >= 2
    walked = [status_id for page in pages for status_id in page]
    assert walked == result["homeAll"]  # every status once, newest first, none skipped

    report_endpoints(result, {d: divisions[d].requests_since(o) for d, o in offsets.items()})


def report_endpoints(
    result: dict[str, Any], requests: dict[str, list[tuple[str, str, int]]]
) -> None:
    """Show (with -s) which endpoints masto called; each call it made must have succeeded."""
    print_calls(result)
    for domain, seen in requests.items():
        print(f"{domain} access log (client API):", *api_endpoints(seen), sep="\n  ")
        failed = [r for r in seen if r[1].startswith("/api/") and r[2] >= 400]
        assert not failed, f"{domain}: {failed}"


def print_calls(result: dict[str, Any]) -> None:
    """With -s: the endpoints masto called, in order of first call."""
    print("\nmasto called:", *dict.fromkeys(shape(call) for call in result["calls"]), sep="\n  ")


def tiny_png() -> bytes:
    """A valid 2x2 RGB PNG, made here so the test carries no binary file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def media_run(
    divisions: dict[str, Division], tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """masto_media.mjs once: alice uploads and posts an image; bob, following her from the
    other division, waits for the post in his home timeline."""
    image = tmp_path_factory.mktemp("media") / "chart.png"
    image.write_bytes(tiny_png())
    result = node(
        "masto_media.mjs",
        {**settings(divisions, tokens), "file": str(image), "description": "Q3 chart"},
    )
    print_calls(result)
    return result


def test_media_upload(
    media_run: dict[str, Any], divisions: dict[str, Division], tokens: dict[str, str]
) -> None:
    media = media_run["media"]
    assert media["type"] == "image" and media["description"] == "Q3 chart"
    assert media["url"] and media["previewUrl"]
    assert "GET /api/v1/media/:id" in [shape(call) for call in media_run["calls"]]  # masto polls
    status = media_run["status"]
    assert [m["id"] for m in status["mediaAttachments"]] == [media["id"]]
    with divisions[SALES].api(tokens[SALES]) as api:
        on_server = api.get(f"/api/v1/statuses/{status['id']}").json()
    assert [m["id"] for m in on_server["media_attachments"]] == [media["id"]]
    with httpx.Client(base_url=divisions[SALES].url, timeout=15) as browser:
        served = browser.get(urlsplit(media["url"]).path)
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/")


def test_media_arrives_on_the_other_division(media_run: dict[str, Any]) -> None:
    (copy,) = media_run["arrived"]["mediaAttachments"]
    assert copy["type"] == "image" and copy["description"] == "Q3 chart"
    assert copy["url"] or copy["remoteUrl"]


def test_streaming_user_stream_receives_a_remote_post(
    divisions: dict[str, Division], tokens: dict[str, str]
) -> None:
    sales = divisions[SALES]
    result = node(
        "masto_streaming.mjs",
        {**settings(divisions, tokens), "streamingUrl": f"ws://{sales.live.address}"},
    )
    assert result["probe"]["event"] == "update"  # alice's own post: the stream is live
    event = result["remote"]
    assert event["event"] == "update" and event["stream"] == ["user"]
    assert event["uri"] == result["bobPost"]["uri"]
    assert event["account"] == divisions[ENG].handle
    with sales.api(tokens[SALES]) as api:
        home = api.get("/api/v1/timelines/home").json()
    assert event["id"] in [s["id"] for s in home]
    print_calls(result)
