"""Global quotas enforced by partition: each worker gets a fixed share of requests in flight and of
the request rate, so the sum over all workers never exceeds the configured caps, with no
coordination messages on the hot path (each worker paces itself: geetiles.fetching.pacing)."""

from __future__ import annotations


def shares(total: float, parts: int, integer: bool) -> list[float]:
    """Split ``total`` into ``parts`` shares that add up to it (integers differ by at most one)."""
    if integer:
        base, extra = divmod(int(total), parts)
        return [base + (1 if i < extra else 0) for i in range(parts)]
    return [total / parts] * parts
