"""Rate limits (限流): one policy, a token bucket per key, in process. Framework-free.

Every limit of the platform is a row of ``LIMITS``: its name, the setting that gives its
allowance, the period that allowance is for, and the refusal message. A bucket holds one
period's allowance and refills continuously, so a burst of the whole allowance passes and
then one request every ``period / allowance`` seconds; an allowance of 0 disables the
limit. A changed setting takes effect at the next request (a fresh set of buckets).

The buckets live in the server process: with W workers a client gets at most W times the
rate. That is enough against password guessing, scraping and flooding from one address; a
shared limit across machines belongs in the reverse proxy (see docs/operations.md).

The web layer's dependency and client address are in ``xinyong.web.ratelimit``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from xinyong.config import get_settings
from xinyong.errors import TooManyRequests

MAX_KEYS = 100_000  # buckets kept per limit; the least recently used are dropped beyond


@dataclass(frozen=True)
class Limit:
    setting: str  # the Settings attribute holding the allowance
    period: float  # seconds the allowance is for
    message: str
    code: str | None = None  # error code, when not TooManyRequests' own


LIMITS: dict[str, Limit] = {
    "login": Limit("rate_login_per_minute", 60.0, "登录尝试过于频繁，请稍后再试"),
    # Public disclosure searches and tip-off tracking (page and API): a tracking code is
    # guessable only by brute force, which this bounds.
    "search": Limit("portal_searches_per_minute", 60.0, "查询过于频繁，请稍后再试"),
    "tipoff": Limit(
        "tipoff_per_hour", 3600.0, "提交过于频繁，请稍后再试", code="too_many_requests"
    ),
    "check": Limit("rate_check_per_minute", 60.0, "核查请求过于频繁，请稍后再试"),
}


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets for one limit, keyed by caller. Thread-safe; bounded in memory."""

    def __init__(
        self,
        allowance: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
        period: float = 60.0,
    ) -> None:
        self.allowance = allowance
        self.capacity = float(allowance)
        self.refill_per_second = allowance / period
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
    """All the platform's limits (``LIMITS``), their buckets made from the settings."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, limits: dict[str, Limit] = LIMITS
    ) -> None:
        self.clock = clock
        self.limits = limits
        self._buckets: dict[str, TokenBuckets] = {}
        self._lock = threading.Lock()

    def _for(self, name: str) -> TokenBuckets:
        limit = self.limits[name]
        allowance = int(getattr(get_settings(), limit.setting))
        found = self._buckets.get(name)
        if found is None or found.allowance != allowance:
            with self._lock:
                found = self._buckets.get(name)
                if found is None or found.allowance != allowance:
                    found = TokenBuckets(allowance, self.clock, period=limit.period)
                    self._buckets[name] = found
        return found

    def wait(self, name: str, key: str) -> int:
        """Count one request of ``key`` against limit ``name``: 0 when it passes, else the
        whole seconds (at least 1) until it would."""
        wait = self._for(name).take(key)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def hit(self, name: str, key: str) -> None:
        """Count one request of ``key`` against limit ``name``; TooManyRequests when over."""
        wait = self.wait(name, key)
        if wait:
            limit = self.limits[name]
            raise TooManyRequests(limit.message, retry_after=wait, code=limit.code)

    def reset(self) -> None:
        """Forget every bucket (tests, configuration reload)."""
        with self._lock:
            self._buckets.clear()


limiter = RateLimiter()
