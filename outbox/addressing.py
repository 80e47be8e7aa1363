"""Visibility and addressing: which `to` / `cc` a post gets, which visibility an inbound
post has, and which servers may be sent anything about a post.

This module owns the mapping between our five visibilities (Mastodon's four and `org`) and
ActivityPub audiences, in both directions, so that a post we send is shown by every peer with
the visibility its author chose, and a post we receive is shown here with the one its server
meant. It must not look anything up (callers pass the followers collection, the mentioned
actors' IRIs and whether the sender is a peer) and does no I/O.

`org` (organisation-only) is addressed as a followers-only post, so that any server that
reads only the addressing (Mastodon and its family) would never show it publicly, and it
carries the `wc:orgOnly` marker (`federation.objects.Note.org_only`) that peers read as
`org`. The marker is believed only from a peer: from anyone else the post is what its
addressing says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from federation.astools import PUBLIC
from federation.objects import is_public_addressee, parse_addressees

Visibility = Literal["public", "unlisted", "org", "private", "direct"]
VISIBILITIES: tuple[Visibility, ...] = ("public", "unlisted", "org", "private", "direct")
"""Widest first: Mastodon's four with `org` (every signed-in employee of every peer
instance) between unlisted and `private` (followers-only)."""

Reach = Literal["any", "peers", "none"]
"""Which remote inboxes may be sent activities about a post: any (as its addressing says),
peers only, or none at all."""


def reach(visibility: str, *, local_only: bool) -> Reach:
    """Where activities about a post (its Create, Update, Delete, boosts, pins) may go:
    a local-only post nowhere, an organisation-only post (or a boost of one) to peers only,
    anything else wherever its addressing says. The delivery queue is filled with this."""
    if local_only:
        return "none"
    if visibility == "org":
        return "peers"
    return "any"


def _unique(values: Iterable[str], *, without: Iterable[str] = ()) -> list[str]:
    """`values` in order, each once, leaving out those in `without`."""
    excluded = set(without)
    return [v for v in dict.fromkeys(values) if v not in excluded]


def address(
    visibility: str, *, followers_url: str, mentioned: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The `(to, cc)` of a post of `visibility`, as Mastodon addresses it.

    public: to Public, cc followers and the mentioned; unlisted: to followers, cc Public and
    the mentioned; private and org: to followers, cc the mentioned (org is told apart by its
    marker, not by its addressing); direct: to the mentioned only. No IRI appears twice, in
    either list or across both.
    """
    mentioned = [m for m in mentioned if not is_public_addressee(m)]
    if visibility == "public":
        to, cc = [PUBLIC], [followers_url, *mentioned]
    elif visibility == "unlisted":
        to, cc = [followers_url], [PUBLIC, *mentioned]
    elif visibility in ("org", "private"):
        to, cc = [followers_url], mentioned
    elif visibility == "direct":
        to, cc = [m for m in mentioned if m != followers_url], []
    else:
        raise ValueError(f"unknown visibility {visibility!r}; expected one of {VISIBILITIES}")
    to = _unique(to)
    return to, _unique(cc, without=to)


def boost_address(
    visibility: str, *, followers_url: str, original_author: str
) -> tuple[list[str], list[str]]:
    """The `(to, cc)` of an Announce: Mastodon's (to Public, cc the boosted post's author and
    the booster's followers), or for a boost of an organisation-only post the booster's
    followers and the author without Public, so no server shows it publicly."""
    if visibility == "org":
        return [followers_url], _unique([original_author], without=[followers_url])
    return [PUBLIC], _unique([original_author, followers_url])


def _is_followers(iri: str, followers_url: str | None) -> bool:
    if followers_url is not None:
        return iri == followers_url
    return iri.rstrip("/").endswith("/followers")


def visibility_of(
    to: Iterable[Any],
    cc: Iterable[Any],
    *,
    followers_url: str | None,
    org_only: bool = False,
) -> Visibility:
    """The visibility of an inbound post from its `to` and `cc`, as Mastodon reads it.

    `org_only`: the post carries the organisation-only marker *and* the caller trusts it
    (it comes from a peer, or from a local C2S client); it is then `org`, whatever the
    addressing (a peer is trusted to say what its author chose). Otherwise: Public
    in `to` is public, Public in `cc` unlisted; else the author's followers collection
    addressed (any IRI ending in `/followers` when it is not known) is private; anything
    else is direct. Public may be spelt in full, `Public` or `as:Public`.
    """
    if org_only:
        return "org"
    to_iris, cc_iris = parse_addressees(list(to)), parse_addressees(list(cc))
    if PUBLIC in to_iris:
        return "public"
    if PUBLIC in cc_iris:
        return "unlisted"
    if any(_is_followers(iri, followers_url) for iri in (*to_iris, *cc_iris)):
        return "private"
    return "direct"
