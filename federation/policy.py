"""Peer policy: which domains this instance federates with.

`allowlist` (the default): only configured peers may deliver, be delivered to or be fetched.
`open`: anyone but blocked domains. Applied at every network edge, inbound and outbound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from federation.errors import FederationError

ALLOWLIST = "allowlist"
OPEN = "open"


class PolicyRejected(FederationError):
    """The peer is not one we federate with. Maps to 403 at the HTTP edge."""

    def __init__(self, domain: str) -> None:
        super().__init__(f"domain {domain!r} is not permitted by peer policy")
        self.domain = domain


def normalise_domain(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


def domain_of(url: str) -> str:
    """The domain an actor or object URL belongs to, with a non-default port kept."""
    return normalise_domain(urlsplit(url).netloc)


@dataclass(frozen=True)
class PeerPolicy:
    mode: str
    peers: frozenset[str] = field(default_factory=frozenset)
    blocked: frozenset[str] = field(default_factory=frozenset)

    def allows(self, domain: str) -> bool:
        domain = normalise_domain(domain)
        if domain in self.blocked or any(domain.endswith("." + b) for b in self.blocked):
            return False
        if self.mode == OPEN:
            return True
        return domain in self.peers

    def check(self, domain: str) -> None:
        if not self.allows(domain):
            raise PolicyRejected(normalise_domain(domain))

    def check_url(self, url: str) -> None:
        self.check(domain_of(url))
