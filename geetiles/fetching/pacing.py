"""Pacing a worker's requests: a token-bucket rate limit and the backoff before a retry."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    initial_s: float = 1.0
    max_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling = min(self.max_s, self.initial_s * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class RateLimiter:
    """Token bucket: at most ``rate`` acquisitions per second, bursts up to one second's worth."""

    def __init__(self, rate: float, burst: bool = True) -> None:
        """``burst=False``: start empty (a worker replacing a dead one, whose burst a rate window may
        still hold: the two together stay within one bucket's bound)."""
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity if burst else 0.0
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def drain(self) -> None:
        """Spend the burst now: from here on, at most ``rate`` acquisitions per second."""
        self.tokens, self.updated = 0.0, time.monotonic()

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
