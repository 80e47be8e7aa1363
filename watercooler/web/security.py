"""The headers every page and static file carries: a Content-Security-Policy without inline
scripts (the pages' JavaScript is in files under /web/static/), no framing, no sniffing."""

from __future__ import annotations

from collections.abc import Mapping

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # remote avatars and attachments come from the peers' (or the fediverse's) servers
        "img-src 'self' data: https: http:",
        "media-src 'self' https: http:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
PAGE_HEADERS: Mapping[str, str] = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
