"""Peer policy: which domains this instance federates with.

`allowlist` (the default): only peers may deliver, be delivered to or be fetched.
`open`: anyone but blocked domains. Applied at every network edge, inbound and outbound.

The policy is one object shared by every edge (intake, fetcher, delivery worker, transport)
whose lists are swapped whole when IT changes them at run time, so a removed peer is refused
by the next request everywhere at once. Each refusal is counted per domain for admins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

from federation.errors import FederationError

ALLOWLIST = "allowlist"
OPEN = "open"
MODES = (ALLOWLIST, OPEN)


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*(:\d{{1,5}})?$")


class PolicyRejected(FederationError):
    """The peer is not one we federate with. Maps to 403 at the HTTP edge."""

    def __init__(self, domain: str) -> None:
        super().__init__(f"domain {domain!r} is not permitted by peer policy")
        self.domain = domain


def normalise_domain(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


def valid_domain(domain: str) -> bool:
    """A host name, with a port if not the default: what peers and blocks are keyed by."""
    return len(domain) <= 253 and _DOMAIN.match(normalise_domain(domain)) is not None


def domain_of(url: str) -> str:
    """The domain an actor or object URL belongs to, with a non-default port kept."""
    return normalise_domain(urlsplit(url).netloc)


def _within(domain: str, listed: frozenset[str]) -> bool:
    """`domain` is listed, or is a subdomain of a listed one (a block covers subdomains)."""
    if domain in listed:
        return True
    host = domain.rpartition(":")[0] if domain.count(":") == 1 else domain
    return any(host == b or host.endswith("." + b) for b in listed if b)


class PeerPolicy:
    def __init__(
        self,
        mode: str,
        peers: Iterable[str] = (),
        blocked: Iterable[str] = (),
        silenced: Iterable[str] = (),
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown federation mode {mode!r}")
        self.mode = mode
        self.peers: frozenset[str] = frozenset()
        self.blocked: frozenset[str] = frozenset()
        self.silenced: frozenset[str] = frozenset()
        self.refusals: Counter[str] = Counter()
        """Refused domains since the counts were last taken (`take_refusals`)."""
        self.update(peers=peers, blocked=blocked, silenced=silenced)

    def update(
        self,
        *,
        peers: Iterable[str] | None = None,
        blocked: Iterable[str] | None = None,
        silenced: Iterable[str] | None = None,
    ) -> None:
        """Replace the lists given; each is swapped whole, so readers never see half."""
        if peers is not None:
            self.peers = frozenset(normalise_domain(d) for d in peers)
        if blocked is not None:
            self.blocked = frozenset(normalise_domain(d) for d in blocked)
        if silenced is not None:
            self.silenced = frozenset(normalise_domain(d) for d in silenced)

    def is_peer(self, domain: str) -> bool:
        """A listed peer of the organisation (in either mode), and not blocked."""
        domain = normalise_domain(domain)
        return domain in self.peers and not _within(domain, self.blocked)

    def is_silenced(self, domain: str) -> bool:
        """Federated with, but kept out of public timelines."""
        return _within(normalise_domain(domain), self.silenced)

    def allows(self, domain: str) -> bool:
        domain = normalise_domain(domain)
        if _within(domain, self.blocked):
            return False
        if self.mode == OPEN:
            return True
        return domain in self.peers

    def refused(self, domain: str) -> None:
        """Count a refusal of `domain` (for edges that refuse without raising)."""
        self.refusals[normalise_domain(domain)] += 1

    def check(self, domain: str) -> None:
        if not self.allows(domain):
            self.refused(domain)
            raise PolicyRejected(normalise_domain(domain))

    def check_url(self, url: str) -> None:
        self.check(domain_of(url))

    def take_refusals(self) -> Counter[str]:
        """The refusal counts so far, reset to zero (for adding to the stored totals)."""
        taken, self.refusals = self.refusals, Counter()
        return taken
