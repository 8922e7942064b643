"""Token buckets: a burst of one minute's allowance, then one request per 60/rate seconds."""

from __future__ import annotations

import pytest

from xinyong.errors import TooManyRequests
from xinyong.web.ratelimit import RateLimiter, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = Clock()
    buckets = TokenBuckets(6, clock)  # 6 per minute: one every 10 s
    assert [buckets.take("a") for _ in range(6)] == [0.0] * 6
    assert buckets.take("a") == pytest.approx(10.0)
    clock.now += 5
    assert buckets.take("a") == pytest.approx(5.0)
    clock.now += 5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_keys_are_independent_and_bounded() -> None:
    buckets = TokenBuckets(1, Clock(), max_keys=3)
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0
    for key in ("c", "d", "e"):
        buckets.take(key)
    assert buckets.take("a") == 0.0  # "a" was dropped as least recently used: memory stays bounded


def test_zero_disables() -> None:
    buckets = TokenBuckets(0, Clock())
    assert all(buckets.take("a") == 0.0 for _ in range(1000))


def test_limiter_raises_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_RATE_TIPOFF_PER_MINUTE", "2")
    from xinyong.config import get_settings

    get_settings.cache_clear()
    try:
        limiter = RateLimiter(Clock())
        limiter.hit("tipoff", "1.2.3.4")
        limiter.hit("tipoff", "1.2.3.4")
        with pytest.raises(TooManyRequests) as caught:
            limiter.hit("tipoff", "1.2.3.4")
        assert caught.value.retry_after == 30
        assert caught.value.http_status == 429
        limiter.hit("tipoff", "5.6.7.8")
    finally:
        get_settings.cache_clear()
