"""Which failures are worth another attempt, and how long to wait before it."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
AUTH_STATUS = frozenset({401, 403})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    initial_s: float = 1.0
    max_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling = min(self.max_s, self.initial_s * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)
