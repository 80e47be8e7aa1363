"""Every URI this instance mints or recognises, built in one place.

The Starlette routes in the app shell use the same path patterns, so a document never points
at a path that no route serves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

USERNAME_PATTERN = r"[A-Za-z0-9_]{1,30}"
_USERNAME = re.compile(rf"^{USERNAME_PATTERN}$")
INSTANCE_ACTOR_PATH = "/actor"
MEDIA_PATH = "/media"
_STATUS_PATH = re.compile(
    rf"^(?:/users/(?P<user>{USERNAME_PATTERN})/statuses/|/@(?P<at>{USERNAME_PATTERN})/)(?P<id>\d{{1,19}})$"
)


def is_valid_username(name: str) -> bool:
    """Local names: letters, digits and underscore, as Mastodon allows."""
    return bool(_USERNAME.match(name))


@dataclass(frozen=True, slots=True)
class Uris:
    """URIs of this instance, from its public base URL (no trailing slash)."""

    base_url: str

    def actor(self, username: str) -> str:
        return f"{self.base_url}/users/{username}"

    def key_id(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def profile(self, username: str) -> str:
        return f"{self.base_url}/@{username}"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def featured(self, username: str) -> str:
        return f"{self.actor(username)}/collections/featured"

    def moderators(self, username: str) -> str:
        """A community's moderators collection (its `attributedTo`, as Lemmy has it)."""
        return f"{self.actor(username)}/moderators"

    def status(self, username: str, status_id: int) -> str:
        return f"{self.actor(username)}/statuses/{status_id}"

    def status_url(self, username: str, status_id: int) -> str:
        return f"{self.profile(username)}/{status_id}"

    def status_activity(self, username: str, status_id: int) -> str:
        """The id of the Create (or Announce, for a boost) that published the status."""
        return f"{self.status(username, status_id)}/activity"

    def status_replies(self, username: str, status_id: int) -> str:
        return f"{self.status(username, status_id)}/replies"

    def activity(self, username: str, kind: str, activity_id: int) -> str:
        """Ids of activities with no object of their own: follows, likes, blocks, undos."""
        return f"{self.actor(username)}#{kind}/{activity_id}"

    def tag(self, name: str) -> str:
        return f"{self.base_url}/tags/{name}"

    def media(self, file_name: str) -> str:
        """Where an uploaded image (or its preview) is served; see MEDIA_PATH."""
        return f"{self.base_url}{MEDIA_PATH}/{file_name}"

    def local_status(self, uri: str) -> tuple[str, int] | None:
        """(username, status id) if `uri` is one of our status ids or URLs."""
        base = urlsplit(self.base_url)
        parts = urlsplit(uri)
        if parts.netloc.lower() != base.netloc.lower():
            return None
        match = _STATUS_PATH.match(parts.path)
        if match is None:
            return None
        return match.group("user") or match.group("at"), int(match.group("id"))

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base_url}{INSTANCE_ACTOR_PATH}"

    @property
    def instance_key_id(self) -> str:
        return f"{self.instance_actor}#main-key"

    @property
    def instance_inbox(self) -> str:
        return f"{self.instance_actor}/inbox"

    @property
    def instance_outbox(self) -> str:
        return f"{self.instance_actor}/outbox"

    @property
    def oauth_authorize(self) -> str:
        return f"{self.base_url}/oauth/authorize"

    @property
    def oauth_token(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def proxy(self) -> str:
        """The C2S `proxyUrl`: a signed-in client fetches remote objects through us."""
        return f"{self.base_url}/proxy"

    @property
    def about(self) -> str:
        return f"{self.base_url}/about"

    def webfinger_template(self) -> str:
        return f"{self.base_url}/.well-known/webfinger?resource={{uri}}"

    def nodeinfo(self, version: str) -> str:
        return f"{self.base_url}/nodeinfo/{version}"

    def local_username(self, uri: str) -> str | None:
        """The username if `uri` is one of our actor or profile URLs, else None."""
        base = urlsplit(self.base_url)
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != base.netloc.lower():
            return None
        path = parts.path.rstrip("/")
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix):
                name = path[len(prefix) :]
                return name if is_valid_username(name) else None
        return None

    def is_instance_actor(self, uri: str) -> bool:
        return uri.rstrip("/") == self.instance_actor
