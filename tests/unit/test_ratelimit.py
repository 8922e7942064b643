"""The one rate-limit policy: a burst of one period's allowance, then one request per
period/allowance seconds; the login, search, tip-off and check limits are rows of it."""

from __future__ import annotations

import pytest

from xinyong.config import get_settings
from xinyong.errors import TooManyRequests
from xinyong.ratelimit import LIMITS, RateLimiter, TokenBuckets


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
    monkeypatch.setenv("XINYONG_RATE_LOGIN_PER_MINUTE", "2")
    get_settings.cache_clear()
    try:
        limiter = RateLimiter(Clock())
        limiter.hit("login", "1.2.3.4")
        limiter.hit("login", "1.2.3.4")
        with pytest.raises(TooManyRequests) as caught:
            limiter.hit("login", "1.2.3.4")
        assert caught.value.retry_after == 30
        assert caught.value.http_status == 429
        limiter.hit("login", "5.6.7.8")
    finally:
        get_settings.cache_clear()


def test_search_burst_then_refill_per_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The public search (formerly portal.ratelimit.TokenBucket): 3 per minute."""
    monkeypatch.setattr(get_settings(), "portal_searches_per_minute", 3)
    clock = Clock()
    limiter = RateLimiter(clock)
    assert [limiter.wait("search", "a") > 0 for _ in range(4)] == [False, False, False, True]
    assert limiter.wait("search", "b") == 0  # another client has its own bucket
    assert limiter.wait("search", "a") == 20  # one token every 20 s
    clock.now += 20
    assert limiter.wait("search", "a") == 0 and limiter.wait("search", "a") > 0
    clock.now += 600  # never more than the burst
    assert [limiter.wait("search", "a") > 0 for _ in range(4)] == [False, False, False, True]


def test_search_buckets_are_bounded() -> None:
    clock = Clock()
    buckets = TokenBuckets(2, clock, max_keys=100)
    for k in range(1000):
        buckets.take(f"10.0.{k // 256}.{k % 256}")
        clock.now += 0.01
    assert len(buckets._buckets) <= 101


def test_tipoffs_per_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tip-offs (formerly tipoffs.workflow.RateLimiter): the allowance is per hour."""
    assert LIMITS["tipoff"].setting == "tipoff_per_hour" and LIMITS["tipoff"].period == 3600
    monkeypatch.setattr(get_settings(), "tipoff_per_hour", 2)
    clock = Clock()
    limiter = RateLimiter(clock)
    limiter.hit("tipoff", "1.2.3.4")
    clock.now += 1
    limiter.hit("tipoff", "1.2.3.4")
    clock.now += 1
    with pytest.raises(TooManyRequests) as caught:
        limiter.hit("tipoff", "1.2.3.4")
    assert caught.value.code == "too_many_requests" and "频繁" in caught.value.message
    limiter.hit("tipoff", "5.6.7.8")
    clock.now += 3600
    limiter.hit("tipoff", "1.2.3.4")


def test_a_changed_setting_takes_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter(Clock())
    monkeypatch.setattr(get_settings(), "rate_check_per_minute", 1)
    assert limiter.wait("check", "k") == 0 and limiter.wait("check", "k") > 0
    monkeypatch.setattr(get_settings(), "rate_check_per_minute", 2)
    assert limiter.wait("check", "k") == 0
