"""NodeInfo 2.0 / 2.1 documents about this instance (what crawlers and peers read).

Counts are passed in; this module decides the document's shape only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from federation.uris import Uris

VERSIONS = ("2.0", "2.1")
# Clients such as megalodon only accept a server whose upstream looks like Mastodon.
UPSTREAM = {"name": "mastodon", "version": "4.3.0"}


def content_type(version: str) -> str:
    return f'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"'


def well_known(uris: Uris) -> dict[str, Any]:
    return {
        "links": [
            {
                "rel": f"http://nodeinfo.diaspora.software/ns/schema/{version}",
                "href": uris.nodeinfo(version),
            }
            for version in VERSIONS
        ]
    }


@dataclass(frozen=True, slots=True)
class Usage:
    """What the document counts. NodeInfo is public: `local_posts` must leave out posts whose
    existence stays inside (organisation-only and local-only ones); the caller counts so."""

    users_total: int
    users_active_month: int
    users_active_halfyear: int
    local_posts: int


def document(
    version: str,
    *,
    software_version: str,
    node_name: str,
    federation_mode: str,
    usage: Usage,
) -> dict[str, Any]:
    return {
        "version": version,
        "software": {"name": "watercooler", "version": software_version},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {
                "total": usage.users_total,
                "activeMonth": usage.users_active_month,
                "activeHalfyear": usage.users_active_halfyear,
            },
            "localPosts": usage.local_posts,
        },
        "metadata": {
            "nodeName": node_name,
            "federation": {"mode": federation_mode},
            "upstream": UPSTREAM,
        },
    }
