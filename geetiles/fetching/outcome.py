"""How a fetch ends, in terms the engine acts on without knowing the source: retry by class,
refresh credentials, or fail the chip with the source's message."""

from __future__ import annotations

import time
from dataclasses import dataclass


class DeterministicError(Exception):
    """The source refused the request for a reason that another identical attempt will not fix."""


class AuthenticationError(Exception):
    """The credentials were refused: the driver refreshes them and resubmits the chip."""


class RetriesExhausted(Exception):
    """Retryable failures (rate limits, server errors, timeouts) continued past the attempt limit."""


@dataclass
class Tally:
    """Requests sent for one chip, how many were retries, and whether it is waiting out a backoff
    (so a worker can tell the driver that a quiet run is backing off, not hung)."""

    requests: int = 0
    retries: int = 0
    last_error: str = ""
    backoff_until: float = 0.0  # time.monotonic() deadline of the current backoff sleep, 0 when none
    in_request: bool = False  # a request is on the wire now (a hand-over lets it finish)

    def backing_off(self, now: float | None = None) -> bool:
        return self.backoff_until > (time.monotonic() if now is None else now)


def in_request(tally: Tally, work, *args):
    """Run ``work(*args)`` marked as a request in progress (for fetchers that work in a thread)."""
    tally.in_request = True
    try:
        return work(*args)
    finally:
        tally.in_request = False
