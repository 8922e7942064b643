"""Rate limits in the web layer: the client's address and a route dependency.

The policy (token buckets per key, one row per limit, allowances from the settings) is
``xinyong.ratelimit``, shared with everything that limits requests. Use in a route::

    @router.post("/tipoffs/track", dependencies=[rate_limit("search")])

or, with a key the dependency cannot know (a username in the body), call
``limiter.hit("login", "user:" + username)`` in the handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from xinyong.config import get_settings
from xinyong.ratelimit import LIMITS, RateLimiter, TokenBuckets, limiter

__all__ = ["LIMITS", "RateLimiter", "TokenBuckets", "client_address", "limiter", "rate_limit"]


def client_address(request: Request) -> str:
    """The client's address: the direct peer, or, when the peer is one of the configured
    trusted proxies (``XINYONG_TRUSTED_PROXIES``), the last address in X-Forwarded-For that
    is not itself a trusted proxy. Anyone else's X-Forwarded-For is ignored: a client must
    not choose its own rate-limit bucket."""
    peer = request.client.host if request.client else "unknown"
    trusted = {p.strip() for p in get_settings().trusted_proxies.split(",") if p.strip()}
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer


def rate_limit(name: str, key: Callable[[Request], str] = client_address) -> Any:
    """A dependency counting the request against limit ``name`` (default key: client IP)."""

    def check(request: Request) -> None:
        limiter.hit(name, key(request))

    return Depends(check)
