"""WebFinger (RFC 7033) and host-meta (RFC 6415): answering look-ups of our accounts.

Pure functions: parse the `resource` a peer asks about and build the JRD / XRD we answer
with. Which accounts exist is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import quoteattr

from federation.uris import INSTANCE_ACTOR_PATH, Uris, is_valid_username

JRD_CONTENT_TYPE = "application/jrd+json; charset=utf-8"
XRD_CONTENT_TYPE = "application/xrd+xml; charset=utf-8"
ACTIVITY_JSON = "application/activity+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"


class BadResource(ValueError):
    """The `resource` parameter is missing or not a form we understand (answer 400)."""


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """Who a look-up asks about: a local username, or the instance actor, or someone else."""

    username: str | None
    instance_actor: bool = False
    foreign: bool = False


def _host_matches(host: str, domain: str) -> bool:
    """`acct:alice@host` matches with or without the port of a non-default-port domain."""
    host = host.lower()
    domain = domain.lower()
    return host == domain or host == domain.split(":", 1)[0]


def parse_resource(resource: str | None, *, domain: str, uris: Uris) -> ResourceRef:
    """Understand `acct:NAME@DOMAIN`, `NAME@DOMAIN` and our actor or profile URLs."""
    if resource is None or not resource.strip():
        raise BadResource("resource parameter is required")
    resource = unquote(resource.strip())
    if resource.startswith(("http://", "https://")):
        parts = urlsplit(resource)
        if not _host_matches(parts.netloc, domain):
            return ResourceRef(username=None, foreign=True)
        if parts.path.rstrip("/") == INSTANCE_ACTOR_PATH:
            return ResourceRef(username=None, instance_actor=True)
        name = uris.local_username(f"{uris.base_url}{parts.path}")
        if name is None:
            return ResourceRef(username=None)
        return ResourceRef(username=name)
    if resource.lower().startswith("acct:"):
        resource = resource[5:]
    resource = resource.lstrip("@")
    if resource.count("@") != 1:
        raise BadResource("resource must be acct:name@domain or an actor URL")
    name, host = resource.split("@")
    if not name or not host:
        raise BadResource("resource must be acct:name@domain or an actor URL")
    if not _host_matches(host, domain):
        return ResourceRef(username=None, foreign=True)
    if _host_matches(name, domain):
        # Mastodon names the instance actor after the domain: acct:example.com@example.com.
        return ResourceRef(username=None, instance_actor=True)
    if not is_valid_username(name):
        return ResourceRef(username=None)
    return ResourceRef(username=name)


def account_jrd(*, username: str, domain: str, actor_uri: str, profile_url: str) -> dict[str, Any]:
    """The JRD Mastodon answers with for an account."""
    return {
        "subject": f"acct:{username}@{domain}",
        "aliases": [profile_url, actor_uri],
        "links": [
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url},
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor_uri},
        ],
    }


def host_meta_xrd(uris: Uris) -> str:
    template = quoteattr(uris.webfinger_template())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={template}/>\n'
        "</XRD>\n"
    )


def host_meta_json(uris: Uris) -> dict[str, Any]:
    return {"links": [{"rel": "lrdd", "template": uris.webfinger_template()}]}
