"""Global quotas enforced by partition: each worker gets a fixed share of requests in flight and of
the request rate, so the sum over all workers never exceeds the configured caps, with no
coordination messages on the hot path."""

from __future__ import annotations

import asyncio
import time


def shares(total: float, parts: int, integer: bool) -> list[float]:
    """Split ``total`` into ``parts`` shares that add up to it (integers differ by at most one)."""
    if integer:
        base, extra = divmod(int(total), parts)
        return [base + (1 if i < extra else 0) for i in range(parts)]
    return [total / parts] * parts


class RateLimiter:
    """Token bucket: at most ``rate`` acquisitions per second, bursts up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)
