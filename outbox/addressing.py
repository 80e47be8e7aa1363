"""Visibility and addressing: which `to` / `cc` a post gets, and which visibility an inbound
post has, exactly as Mastodon decides them.

This module owns the mapping between the four Mastodon visibilities and ActivityPub
audiences, in both directions, so that a post we send is shown by every peer with the
visibility its author chose, and a post we receive is shown here with the one its server
meant. It must not look anything up (callers pass the followers collection and the mentioned
actors' IRIs) and does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from federation.astools import PUBLIC
from federation.objects import is_public_addressee, parse_addressees

Visibility = Literal["public", "unlisted", "private", "direct"]
VISIBILITIES: tuple[Visibility, ...] = ("public", "unlisted", "private", "direct")
"""Mastodon's visibilities, widest first. `private` is followers-only."""


def _unique(values: Iterable[str], *, without: Iterable[str] = ()) -> list[str]:
    """`values` in order, each once, leaving out those in `without`."""
    excluded = set(without)
    return [v for v in dict.fromkeys(values) if v not in excluded]


def address(
    visibility: str, *, followers_url: str, mentioned: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The `(to, cc)` of a post of `visibility`, as Mastodon addresses it.

    public: to Public, cc followers and the mentioned; unlisted: to followers, cc Public and
    the mentioned; private: to followers, cc the mentioned; direct: to the mentioned only.
    No IRI appears twice, in either list or across both.
    """
    mentioned = [m for m in mentioned if not is_public_addressee(m)]
    if visibility == "public":
        to, cc = [PUBLIC], [followers_url, *mentioned]
    elif visibility == "unlisted":
        to, cc = [followers_url], [PUBLIC, *mentioned]
    elif visibility == "private":
        to, cc = [followers_url], mentioned
    elif visibility == "direct":
        to, cc = [m for m in mentioned if m != followers_url], []
    else:
        raise ValueError(f"unknown visibility {visibility!r}; expected one of {VISIBILITIES}")
    to = _unique(to)
    return to, _unique(cc, without=to)


def _is_followers(iri: str, followers_url: str | None) -> bool:
    if followers_url is not None:
        return iri == followers_url
    return iri.rstrip("/").endswith("/followers")


def visibility_of(to: Iterable[Any], cc: Iterable[Any], *, followers_url: str | None) -> Visibility:
    """The visibility of an inbound post from its `to` and `cc`, as Mastodon reads it.

    Public in `to` is public, Public in `cc` unlisted; else the author's followers
    collection addressed (any IRI ending in `/followers` when it is not known) is private;
    anything else is direct. Public may be spelt in full, `Public` or `as:Public`.
    """
    to_iris, cc_iris = parse_addressees(list(to)), parse_addressees(list(cc))
    if PUBLIC in to_iris:
        return "public"
    if PUBLIC in cc_iris:
        return "unlisted"
    if any(_is_followers(iri, followers_url) for iri in (*to_iris, *cc_iris)):
        return "private"
    return "direct"
