"""Rate limits (限流): a token bucket per key, in process.

Each limit has a name (``login``, ``search``, ``tipoff``, ``check``) and a rate per minute
from the settings (``XINYONG_RATE_<NAME>_PER_MINUTE``; 0 disables it). A bucket holds up to
one minute's worth of tokens and refills continuously, so a burst of the whole minute's
allowance passes and then one request every ``60 / rate`` seconds.

The buckets live in the server process: with W workers a client gets at most W times the
rate. That is enough against password guessing and scraping from one address; a shared
limit across machines belongs in the reverse proxy (see docs/operations.md).

Use in a route::

    @router.post("/tipoffs", dependencies=[rate_limit("tipoff")])

or, with a key the dependency cannot know (a username in the body), call
``limiter.hit("login", "user:" + username)`` in the handler.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from xinyong.config import get_settings
from xinyong.errors import TooManyRequests

MAX_KEYS = 100_000  # buckets kept per limit; the least recently used are dropped beyond

MESSAGES = {
    "login": "登录尝试过于频繁，请稍后再试",
    "search": "查询过于频繁，请稍后再试",
    "tipoff": "提交过于频繁，请稍后再试",
    "check": "核查请求过于频繁，请稍后再试",
}


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets for one limit, keyed by caller. Thread-safe; bounded in memory."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS
    ) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token: 0.0 if allowed, else the seconds until a token is available."""
        if self.capacity <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = _Bucket(self.capacity, now)
            else:
                elapsed = max(now - bucket.updated, 0.0)
                bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.refill_per_second)
                bucket.updated = now
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.refill_per_second


class RateLimiter:
    """All the platform's limits, created lazily from the settings."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._limits: dict[str, TokenBuckets] = {}
        self._lock = threading.Lock()

    def _buckets(self, name: str) -> TokenBuckets:
        found = self._limits.get(name)
        if found is None:
            per_minute = int(getattr(get_settings(), f"rate_{name}_per_minute"))
            with self._lock:
                found = self._limits.setdefault(name, TokenBuckets(per_minute, self.clock))
        return found

    def hit(self, name: str, key: str) -> None:
        """Count one request of ``key`` against limit ``name``; TooManyRequests when over."""
        wait = self._buckets(name).take(key)
        if wait > 0:
            raise TooManyRequests(
                MESSAGES.get(name, "请求过于频繁，请稍后再试"),
                retry_after=max(1, math.ceil(wait)),
            )

    def reset(self) -> None:
        """Forget every bucket and re-read the settings (tests, configuration reload)."""
        with self._lock:
            self._limits.clear()


limiter = RateLimiter()


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
