"""Real clients sign in to a real `watercooler serve` process: Mastodon.py (password grant and
the authorization code flow, its HTML forms driven over HTTP) and toot (app registration,
password login, app token, the out-of-band code flow, and `toot login_cli` itself).

The instance's domain is its own loopback address (`127.0.0.1:PORT`, plain http), so the base
URL the clients are given is the instance's own URL.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mastodon import Mastodon, MastodonIllegalArgumentError, MastodonUnauthorizedError
from toot import App
from toot import api as toot_api

from tests.live import LiveInstance, free_port

PASSWORD = "correct horse battery"
EMAIL = "alice@corp.example"
OOB = "urn:ietf:wg:oauth:2.0:oob"
TIMEOUT = 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    port = free_port()
    live = LiveInstance(f"127.0.0.1:{port}", tmp_path_factory.mktemp("oauth-live"), port=port)
    live.write_config(peers=[], resolve={}, workers=False)
    live.cli("user", "add", "alice", "--email", EMAIL, "--password-stdin", stdin=f"{PASSWORD}\n")
    live.start()
    try:
        yield live
    finally:
        live.stop()


def mastodon(base_url: str, **kwargs: Any) -> Mastodon:
    """A Mastodon.py client that learns the server's version as it does in the field (from
    /api/v1/instance after log_in)."""
    return Mastodon(
        api_base_url=base_url, version_check_mode="none", request_timeout=TIMEOUT, **kwargs
    )


def hidden_fields(page: str) -> dict[str, str]:
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    }


def browser_code(base_url: str, authorize_url: str, login: str = "alice") -> str:
    """Do what a person does in the browser: open the URL, sign in, authorize, copy the
    code from the out-of-band page."""
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        assert 'name="password"' in page.text
        signed_in = browser.post(
            "/oauth/sign_in",
            data={**hidden_fields(page.text), "username": login, "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(signed_in.headers["location"])
        assert consent.status_code == 200 and "Authorize" in consent.text
        answer = browser.post(
            "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "authorize"}
        )
        assert answer.status_code == 200, answer.text
    match = re.search(r'id="authorization-code" type="text" readonly value="([^"]+)"', answer.text)
    assert match, answer.text
    return match.group(1)


def test_mastodon_py_password_login_verify_and_revoke(server: LiveInstance) -> None:
    client_id, client_secret = Mastodon.create_app(
        "Watercooler test", api_base_url=server.url, request_timeout=TIMEOUT
    )
    api = mastodon(server.url, client_id=client_id, client_secret=client_secret)
    token = api.log_in(EMAIL, PASSWORD, allow_http=True)
    app = api.app_verify_credentials()
    assert app.name == "Watercooler test"
    assert set(app.scopes) == {"read", "write", "follow", "push"}
    again = mastodon(server.url, client_id=client_id, client_secret=client_secret)
    assert again.log_in("alice", PASSWORD, allow_http=True) != token  # the username works too

    api.revoke_access_token(allow_http=True)
    revoked = mastodon(server.url, access_token=token)
    with pytest.raises(MastodonUnauthorizedError):
        revoked.app_verify_credentials()


def test_mastodon_py_authorization_code_flow(server: LiveInstance) -> None:
    client_id, client_secret = Mastodon.create_app(
        "Watercooler code flow",
        scopes=["read", "write"],
        redirect_uris=OOB,
        api_base_url=server.url,
        request_timeout=TIMEOUT,
    )
    api = mastodon(server.url, client_id=client_id, client_secret=client_secret)
    url = api.auth_request_url(scopes=["read", "write"], allow_http=True)
    assert url.startswith(f"{server.url}/oauth/authorize?")
    code = browser_code(server.url, url)
    token = api.log_in(code=code, scopes=["read", "write"], allow_http=True)
    assert token
    assert api.app_verify_credentials().name == "Watercooler code flow"
    # The code was used up.
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        mastodon(server.url, client_id=client_id, client_secret=client_secret).log_in(
            code=code, scopes=["read", "write"], allow_http=True
        )


def _verify(base_url: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{base_url}/api/v1/apps/verify_credentials",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def test_toot_registers_logs_in_and_uses_the_oob_code(server: LiveInstance) -> None:
    registered = toot_api.create_app(server.url)  # a JSON body
    app = App(server.address, server.url, registered["client_id"], registered["client_secret"])
    assert registered["name"] == "toot - a Mastodon CLI client"

    by_password = toot_api.login(app, EMAIL, PASSWORD)  # toot's login_cli does this
    assert by_password["scope"] == "read write follow"
    assert _verify(server.url, by_password["access_token"]).status_code == 200

    app_token = toot_api.fetch_app_token(app)  # client_credentials, JSON body
    assert app_token["scope"] == "read write"
    assert _verify(server.url, app_token["access_token"]).json()["name"] == registered["name"]

    login_url = toot_api.get_browser_login_url(app)  # note: /oauth/authorize/ with a slash
    code = browser_code(server.url, login_url)
    by_code = toot_api.request_access_token(app, code)
    assert by_code["scope"] == "read write follow"
    assert _verify(server.url, by_code["access_token"]).status_code == 200


def test_toot_login_cli(server: LiveInstance, tmp_path: Path) -> None:
    """The real command (it also reads /api/v1/instance and verify_credentials)."""
    token = toot_api.login(
        App(server.address, server.url, *_toot_app(server.url)), "alice", PASSWORD
    )["access_token"]
    me = httpx.get(
        f"{server.url}/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert me.status_code == 200
    toot = Path(sys.executable).with_name("toot")
    result = subprocess.run(
        [
            str(toot),
            "login_cli",
            "--instance",
            server.url,
            "--email",
            EMAIL,
            "--password",
            PASSWORD,
        ],
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully logged in" in result.stdout
    assert (tmp_path / "toot" / "config.json").exists()


def _toot_app(base_url: str) -> tuple[str, str]:
    registered = toot_api.create_app(base_url)
    return registered["client_id"], registered["client_secret"]
