import asyncio
import random
import time

from geetiles.download.limits import shares
from geetiles.fetching.pacing import RateLimiter, RetryPolicy


def test_shares_add_up_to_the_global_cap():
    assert shares(40, 3, True) == [14, 13, 13]
    assert sum(shares(100.0, 3, False)) == 100.0


def test_rate_limiter_holds_the_rate_after_its_burst():
    async def run():
        limiter = RateLimiter(50.0)
        start = time.monotonic()
        for _ in range(75):  # 50 of burst, then 25 at 50/s
            await limiter.acquire()
        return time.monotonic() - start

    assert 0.45 < asyncio.run(run()) < 0.9


def test_backoff_is_exponential_jittered_and_capped():
    policy, rng = RetryPolicy(max_attempts=6, initial_s=1.0, max_s=8.0), random.Random(0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2 and max(delays) <= ceiling
        assert len(set(delays)) > 100
