"""Fetching ActivityStreams documents from other servers, bounded and policy-checked.

Every fetch: peer policy first; https only (http when the operator allows it for a local
network); a signed GET (GoToSocial and authorized-fetch Mastodon refuse unsigned ones);
redirects followed by hand, same host only, a few at most; the body read up to a cap; the
document's `id` must live on the host we fetched it from, so a server cannot speak for
another.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

import httpx

from federation.errors import FetchError, RefusedDocument
from federation.policy import PeerPolicy, domain_of

log = logging.getLogger(__name__)

ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
_JSON_TYPES = ("application/activity+json", "application/ld+json", "application/json")


class ObjectGone(FetchError):
    """The origin answered 410: the object was deleted."""


class ObjectNotFound(FetchError):
    """The origin answered 404."""


class Fetcher:
    """Fetches JSON documents for the federation code; one per process, shares the client."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        policy: PeerPolicy,
        allow_http: bool,
        auth: httpx.Auth | None = None,
        max_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        self.client = client
        self.policy = policy
        self.allow_http = allow_http
        self.auth = auth
        self.max_bytes = max_bytes

    def _check_url(self, url: str) -> None:
        scheme = urlsplit(url).scheme
        if scheme != "https" and not (scheme == "http" and self.allow_http):
            raise RefusedDocument(f"refusing to fetch {url!r}: scheme {scheme!r} not allowed")
        self.policy.check_url(url)

    async def fetch_json(self, url: str) -> dict[str, Any]:
        """The document at `url` (fragment dropped), checked to come from `url`'s host."""
        url, response = await self._follow(urldefrag(url)[0], ACCEPT)
        document = self._json(url, response, _JSON_TYPES)
        document_id = document.get("id")
        if not isinstance(document_id, str) or domain_of(document_id) != domain_of(url):
            raise RefusedDocument(
                f"{url} holds a document with id {document_id!r} from another host"
            )
        return document

    async def webfinger(
        self, domain: str, resource: str, *, scheme: str = "https"
    ) -> dict[str, Any]:
        """The JRD for `resource` at `domain` (RFC 7033); the caller parses it."""
        url = f"{scheme}://{domain}/.well-known/webfinger?{urlencode({'resource': resource})}"
        url, response = await self._follow(url, "application/jrd+json, application/json")
        return self._json(url, response, (*_JSON_TYPES, "application/jrd+json"))

    async def _follow(self, url: str, accept: str) -> tuple[str, httpx.Response]:
        """GET `url`, following same-host redirects a few times; policy checked at each hop."""
        origin = domain_of(url)
        for _ in range(MAX_REDIRECTS + 1):
            self._check_url(url)
            response = await self._get(url, accept)
            if not response.is_redirect:
                return url, response
            target = urljoin(url, response.headers.get("location", ""))
            if domain_of(target) != origin:
                raise RefusedDocument(f"{url} redirects to another host ({target})")
            url = target
        raise RefusedDocument(f"too many redirects fetching {url}")

    async def _get(self, url: str, accept: str) -> httpx.Response:
        """GET with the body read up to the cap (a larger body is never held in memory)."""
        headers = {"Accept": accept}
        try:
            request = self.client.build_request("GET", url, headers=headers)
            response = await self.client.send(request, auth=self.auth, stream=True)
        except httpx.HTTPError as error:
            raise FetchError(f"fetching {url} failed: {error!r}") from error
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > self.max_bytes:
                    raise RefusedDocument(f"{url} is larger than {self.max_bytes} bytes")
        except httpx.HTTPError as error:
            raise FetchError(f"reading {url} failed: {error!r}") from error
        finally:
            await response.aclose()
        # Decoded bytes were counted (a compressed bomb stops at the cap); keep them decoded.
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    def _json(
        self, url: str, response: httpx.Response, media_types: tuple[str, ...]
    ) -> dict[str, Any]:
        if response.status_code == 410:
            raise ObjectGone(f"{url} is gone")
        if response.status_code == 404:
            raise ObjectNotFound(f"{url} not found")
        if response.status_code != 200:
            raise FetchError(f"{url} answered {response.status_code}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in media_types:
            raise FetchError(f"{url} is {media_type or 'untyped'}, not {media_types[0]}")
        try:
            document = json.loads(response.content)
        except (ValueError, RecursionError) as error:  # nested past the parser: no JSON to us
            raise RefusedDocument(f"{url} is not valid JSON") from error
        if not isinstance(document, dict):
            raise RefusedDocument(f"{url} is not a JSON object")
        return document
