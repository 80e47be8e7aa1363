"""toot, the command-line client, run as a subprocess against two live divisions: alice signs
in on sales.test through the browser code flow (`toot login`, the code pasted at its prompt),
bob with `toot login_cli` on eng.test; then post, read timelines, search, follow across
divisions, reply, favourite and boost — each checked through the server's own API.

Each user has her own toot config folder (XDG_CONFIG_HOME), as on two people's machines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.clients.network import PASSWORD, Division, shape, two_divisions, wait_for
from tests.watercooler.test_oauth_clients import PASSWORD as BROWSER_PASSWORD
from tests.watercooler.test_oauth_clients import browser_code

SALES, ENG = "sales.test", "eng.test"
TOOT = Path(sys.executable).with_name("toot")
NOTIFIED = {"mention", "favourite", "reblog", "follow"}
TOOT_REQUEST = re.compile(r" --> ([A-Z]+) (\S+)")


@dataclass
class Toot:
    """toot as one person runs it: her own config folder, her division."""

    home: Path
    division: Division
    calls: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [str(TOOT), "--debug", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"toot {' '.join(args)}:\n{done.stdout}{done.stderr}"
        self.record(done.stderr)
        return done.stdout

    def record(self, log: str) -> None:
        """Keep the requests toot logged with --debug, as `METHOD /path`."""
        for method, url in TOOT_REQUEST.findall(log):
            self.calls.append(f"{method} {shape(urlsplit(url).path)}")

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json"))

    @property
    def token(self) -> str:
        """The access token toot saved — to check, through the API, what toot did."""
        saved = json.loads((self.home / "config" / "toot" / "config.json").read_text())
        (user,) = saved["users"].values()
        return str(user["access_token"])

    def api(self) -> httpx.Client:
        return self.division.api(self.token)


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Division]]:
    assert PASSWORD == BROWSER_PASSWORD  # browser_code signs in with its module's password
    with two_divisions(tmp_path_factory.mktemp("toot")) as found:
        yield found


def login_in_browser(toot: Toot) -> str:
    """`toot login`: it prints the authorize URL and prompts for the code; a "browser" signs
    in and authorizes, and the code is typed at the prompt. Returns what toot printed."""
    url = toot.division.url
    with subprocess.Popen(
        [str(TOOT), "--debug", "login", "--instance", url],
        env=toot.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        printed = []
        watchdog = threading.Timer(60, process.kill)  # a toot that hangs cannot hang the test
        watchdog.start()
        try:
            for line in process.stdout:
                printed.append(line)
                if line.startswith(f"{url}/oauth/authorize"):
                    break
            authorize_url = printed[-1].strip() if printed else ""
            assert authorize_url.startswith(f"{url}/oauth/authorize"), "".join(printed)
            code = browser_code(url, authorize_url, login=toot.division.username)
            rest, _ = process.communicate(f"n\n{code}\n", timeout=60)
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    output = "".join(printed) + rest
    assert process.returncode == 0, output
    toot.record(output)
    return output


@pytest.fixture(scope="module")
def alice(divisions: dict[str, Division], tmp_path_factory: pytest.TempPathFactory) -> Toot:
    toot = Toot(tmp_path_factory.mktemp("alice-toot"), divisions[SALES])
    assert "Successfully logged in" in login_in_browser(toot)
    return toot


@pytest.fixture(scope="module")
def bob(divisions: dict[str, Division], tmp_path_factory: pytest.TempPathFactory) -> Toot:
    toot = Toot(tmp_path_factory.mktemp("bob-toot"), divisions[ENG])
    eng = divisions[ENG]
    printed = toot.run(
        "login_cli", "--instance", eng.url, "--email", eng.email, "--password", PASSWORD
    )
    assert "Successfully logged in" in printed
    return toot


def test_whoami_post_and_read_the_timelines(alice: Toot) -> None:
    sales = alice.division
    offset = sales.log_offset()
    me = alice.json("whoami")
    assert (me["username"], me["acct"]) == ("alice", "alice")
    assert "@alice" in alice.run("whoami")  # the human-readable form parses the entity too

    posted = alice.json("post", "Hello from toot #watercooler", "--visibility", "public")
    with alice.api() as api:
        on_server = api.get(f"/api/v1/statuses/{posted['id']}").json()
    assert on_server["id"] == posted["id"]
    assert on_server["account"]["username"] == "alice"
    assert "Hello from toot" in on_server["content"]
    # Mastodon names the app a post came from; toot registered itself under its own name.
    assert on_server["application"]["name"].startswith("toot")

    home = alice.json("timelines", "home", "--no-pager")
    assert posted["id"] in [status["id"] for status in home]
    public = alice.json("timelines", "public", "--no-pager", "--local")
    assert posted["id"] in [status["id"] for status in public]
    # The deprecated `toot timeline` renders statuses as text: it must parse each entity.
    assert "Hello from toot #watercooler" in alice.run("timeline", "--once", "--count", "5")
    assert f"ID {posted['id']}" in alice.run("status", posted["id"])
    assert_no_client_errors(sales, offset)
    print("\ntoot called (alice):", *dict.fromkeys(alice.calls), sep="\n  ")


def test_follow_reply_favourite_boost_and_search_across_divisions(alice: Toot, bob: Toot) -> None:
    sales, eng = alice.division, bob.division
    offsets = {SALES: sales.log_offset(), ENG: eng.log_offset()}

    found = bob.json("search", "--resolve", "--type", "accounts", sales.handle)
    assert [account["acct"] for account in found["accounts"]] == [sales.handle]
    followed = bob.json("follow", sales.handle)
    assert followed["following"] or followed["requested"]
    alice_id = found["accounts"][0]["id"]
    with bob.api() as api:

        def following() -> bool:
            answer = api.get("/api/v1/accounts/relationships", params={"id[]": alice_id})
            return bool(answer.json()[0]["following"])

        wait_for("the follow to be accepted", following)

    question = alice.json("post", "Does anyone in eng know why the build is slow?")
    with bob.api() as api:

        def in_home() -> dict[str, Any] | None:
            home = api.get("/api/v1/timelines/home").json()
            return next((s for s in home if s["uri"] == question["uri"]), None)

        arrived = wait_for("alice's question in bob's home timeline", in_home)
    assert arrived["id"] in [s["id"] for s in bob.json("timelines", "home", "--no-pager")]

    reply = bob.json("post", "--reply-to", arrived["id"], "@alice@sales.test caching is off")
    assert reply["in_reply_to_id"] == arrived["id"]
    favourited = bob.json("favourite", arrived["id"])
    assert favourited["favourited"] is True
    boost = bob.json("reblog", arrived["id"])
    assert boost["reblog"]["uri"] == question["uri"]

    with alice.api() as api:
        # On alice's side: the reply is in the thread, the question was liked and boosted,
        # and she was notified of each (and of bob's follow).
        def thread() -> list[str]:
            context = api.get(f"/api/v1/statuses/{question['id']}/context").json()
            return [status["uri"] for status in context["descendants"]]

        def counts() -> tuple[int, int]:
            status = api.get(f"/api/v1/statuses/{question['id']}").json()
            return status["favourites_count"], status["reblogs_count"]

        def kinds() -> set[str]:
            return {n["type"] for n in api.get("/api/v1/notifications").json()}

        wait_for("bob's reply in the thread", lambda: thread() == [reply["uri"]])
        wait_for("the favourite and the boost", lambda: counts() == (1, 1))
        wait_for("alice's notifications", lambda: kinds() >= NOTIFIED)

    context = alice.json("thread", question["id"])
    assert [s["uri"] for s in context["descendants"]] == [reply["uri"]]
    statuses = alice.json("search", "--type", "statuses", "caching")
    assert [s["uri"] for s in statuses["statuses"]] == [reply["uri"]]
    accounts = alice.json("search", "--resolve", "--type", "accounts", eng.handle)
    assert [a["acct"] for a in accounts["accounts"]] == [eng.handle]

    for domain, division in ((SALES, sales), (ENG, eng)):
        assert_no_client_errors(division, offsets[domain])
    for name, toot in (("alice", alice), ("bob", bob)):
        print(f"\ntoot called ({name}):", *dict.fromkeys(toot.calls), sep="\n  ")


def assert_no_client_errors(division: Division, offset: int) -> None:
    """No API request (toot's or this test's) since `offset` was answered with an error."""
    failed = [
        r for r in division.requests_since(offset) if r[1].startswith("/api/") and r[2] >= 400
    ]
    assert not failed, f"{division.live.domain}: {failed}"
