import asyncio
import random
import time

import pytest

from geetiles.download.limits import shares
from geetiles.fetching.pacing import RateLimiter, RetryPolicy
from tests.fetching.virtual_time import VirtualClock


def test_shares_add_up_to_the_global_cap():
    assert shares(40, 3, True) == [14, 13, 13]
    assert sum(shares(100.0, 3, False)) == 100.0


def acquire_times(limiter_args: dict, count: int, clock: VirtualClock) -> list[float]:
    """The virtual time of each of ``count`` acquisitions, from the limiter's creation."""

    async def run() -> list[float]:
        limiter, start, times = RateLimiter(**limiter_args), clock.now, []
        for _ in range(count):
            await limiter.acquire()
            times.append(clock.now - start)
        return times

    return asyncio.run(run())


def test_rate_limiter_holds_the_rate_after_its_burst(clock):
    times = acquire_times({"rate": 50.0}, 75, clock)  # 50 of burst, then 25 at 50/s
    assert times[49] == 0.0  # the burst is immediate ...
    assert times[-1] == pytest.approx(0.5, abs=1e-4)  # ... then one every 1/50 s
    gaps = [b - a for a, b in zip(times[50:], times[51:])]
    assert gaps == pytest.approx([1 / 50] * 24, abs=1e-5)


def test_rate_limiter_without_burst_starts_empty(clock):
    times = acquire_times({"rate": 20.0, "burst": False}, 10, clock)
    assert times[0] == pytest.approx(1 / 20, abs=1e-5) and times[-1] == pytest.approx(10 / 20, abs=1e-4)


def test_rate_limiter_on_the_real_clock_never_runs_ahead_of_its_rate():
    """The real clock, with a bound only a broken limiter misses: it can never be faster than the rate,
    and the upper bound is 5x the expected 0.5 s, so a busy machine does not fail it."""

    async def run():
        limiter = RateLimiter(50.0)
        start = time.monotonic()
        for _ in range(75):  # 50 of burst, then 25 at 50/s
            await limiter.acquire()
        return time.monotonic() - start

    assert 0.45 < asyncio.run(run()) < 2.5


def test_backoff_is_exponential_jittered_and_capped():
    policy, rng = RetryPolicy(max_attempts=6, initial_s=1.0, max_s=8.0), random.Random(0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2 and max(delays) <= ceiling
        assert len(set(delays)) > 100
