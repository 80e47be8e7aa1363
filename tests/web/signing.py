"""Signing in to the web pages with httpx, as a browser without JavaScript does."""

from __future__ import annotations

import html
import re

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: httpx.Response) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(page.text)
    assert found is not None, f"no CSRF token on {page.url}"
    return html.unescape(found.group(1))


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Fill in and send the sign-in form; the client keeps the session cookie."""
    form = await client.get("/web/sign_in")
    assert form.status_code == 200
    return await client.post(
        "/web/sign_in",
        data={"csrf_token": csrf_token(form), "username": username, "password": password},
    )
