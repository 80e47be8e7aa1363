"""Checking the HTTP signature on an incoming request, with peer policy on the signer."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request

from federation.policy import PolicyRejected, domain_of
from federation.signatures import HttpRequestView, Verified
from federation.verify import verify_request
from watercooler.services import Services


async def request_view(
    request: Request, base_url: str, *, body: bytes | None = None
) -> HttpRequestView:
    """The request as signed: our public URL (a proxy may have changed scheme), raw headers."""
    # From the ASGI scope itself: building Starlette's URL object costs more than the rest.
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")  # as URL
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{base_url}{path}" + (f"?{query}" if query else "")
    headers = tuple(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
    )
    if body is None:
        body = await request.body() if request.method not in ("GET", "HEAD") else b""
    return HttpRequestView(method=request.method, url=url, headers=headers, body=body)


async def verify_signed(request: Request, services: Services) -> Verified:
    """The verified signer; raises SignatureError, or PolicyRejected for a non-peer signer
    (after reading the peer list afresh: another process may have just added it)."""
    view = await request_view(request, services.config.instance.base_url)
    try:
        return await _verify(view, services)
    except PolicyRejected:
        if not await services.peering.reload_if_changed():
            raise
        return await _verify(view, services)


async def _verify(view: HttpRequestView, services: Services) -> Verified:
    # Refuse a non-peer before fetching its key: policy applies to fetches too.
    key_id = _key_id(view)
    if key_id is not None and key_id.startswith(("https://", "http://")):
        services.policy.check_url(key_id)
    verified = await verify_request(
        view,
        services.keys,
        now=services.clock(),
        max_skew=timedelta(seconds=services.config.federation.signature_max_skew),
    )
    services.policy.check(domain_of(verified.owner))
    return verified


def _key_id(view: HttpRequestView) -> str | None:
    """The keyId/keyid a request claims, read loosely only to apply policy early."""
    for name in ("signature", "signature-input"):
        value = view.header(name)
        if value:
            for marker in ('keyId="', 'keyid="'):
                start = value.find(marker)
                if start >= 0:
                    end = value.find('"', start + len(marker))
                    return value[start + len(marker) : end] if end > 0 else None
    return None
