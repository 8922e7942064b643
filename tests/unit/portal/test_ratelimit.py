from __future__ import annotations

from xinyong.portal.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_per_client() -> None:
    clock = Clock()
    bucket = TokenBucket(3, per_seconds=60, clock=clock)
    assert [bucket.allow("a") for _ in range(4)] == [True, True, True, False]
    assert bucket.allow("b")  # another client has its own bucket
    assert bucket.retry_after("a") == 21  # one token every 20 s
    clock.now += 20
    assert bucket.allow("a") and not bucket.allow("a")
    clock.now += 600  # never more than the burst
    assert [bucket.allow("a") for _ in range(4)] == [True, True, True, False]


def test_memory_is_bounded() -> None:
    clock = Clock()
    bucket = TokenBucket(2, clock=clock, max_clients=100)
    for k in range(1000):
        bucket.allow(f"10.0.{k // 256}.{k % 256}")
        clock.now += 0.01
    assert len(bucket._buckets) <= 101
