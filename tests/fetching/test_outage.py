"""The circuit breaker: an endpoint that refuses connections is waited out with one probe at a time,
at growing intervals, and reopens on the first answer; connection failures are told from answers."""

from __future__ import annotations

import asyncio
import errno
import time

import aiohttp
import pytest

from geetiles.fetching import outage
from geetiles.fetching.outage import CircuitBreaker, connection_failure
from geetiles.fetching.pacing import RateLimiter
from tests.fetching.virtual_time import run_virtual


def test_connection_failures_are_told_from_answers_and_timeouts():
    refused = aiohttp.ClientConnectorError(
        connection_key=None, os_error=ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    )
    assert connection_failure(refused)
    assert connection_failure(aiohttp.ServerDisconnectedError())
    assert connection_failure(aiohttp.ClientOSError(errno.ECONNRESET, "Connection reset by peer"))
    assert connection_failure(ConnectionResetError())
    assert not connection_failure(TimeoutError())  # a live server that is slow: the chip's attempt
    assert not connection_failure(aiohttp.ClientOSError(errno.ENOSPC, "No space left"))
    assert not connection_failure(aiohttp.ClientPayloadError("truncated"))
    assert not connection_failure(ValueError("bad"))


def test_one_probe_at_a_time_at_growing_intervals_then_everyone_goes(monkeypatch):
    """On virtual time (tests/fetching/virtual_time.py): the probes' spacing is exact, whatever the load."""

    async def scenario():
        now = asyncio.get_running_loop().time
        breaker = CircuitBreaker(first_interval_s=0.1, max_interval_s=0.4)
        assert await breaker.admit() is False  # up: straight through
        breaker.unreachable(probe=False)
        assert breaker.down and breaker.down_since and breaker.down_since <= time.time()
        probes: list[float] = []
        started = now()

        async def chip(fail_until: float) -> None:
            while True:
                probe = await breaker.admit()
                if not probe:
                    return  # the endpoint is up again
                probes.append(now() - started)
                if now() - started < fail_until:
                    breaker.unreachable(probe=True)
                else:
                    breaker.answered(probe=True)

        await asyncio.wait_for(asyncio.gather(*(chip(1.0) for _ in range(20))), 10)
        return breaker, probes, now() - started

    breaker, probes, elapsed = run_virtual(scenario(), [outage], monkeypatch)
    assert not breaker.down and breaker.failures == 0
    # one at a time, at once and then 0.1, 0.2, 0.4 (the cap), 0.4 s apart; not 20 per round
    assert probes == pytest.approx([0.0, 0.1, 0.3, 0.7, 1.1], abs=1e-6)
    assert elapsed == pytest.approx(1.1, abs=1e-6)  # everyone went with the answer to the last probe


def test_a_cancelled_probe_lets_the_next_one_go():
    async def scenario():
        breaker = CircuitBreaker(first_interval_s=0.05)
        breaker.unreachable(probe=False)
        assert await breaker.admit() is True
        breaker.released(probe=True)  # its chip was handed back mid-probe
        return await asyncio.wait_for(breaker.admit(), 1.0)

    assert asyncio.run(scenario()) is True


@pytest.mark.parametrize("burst", [True, False])
def test_a_replacement_rate_limiter_starts_without_its_burst(burst, clock):
    async def run():
        limiter, start = RateLimiter(50.0, burst=burst), clock.now
        for _ in range(25):
            await limiter.acquire()
        return clock.now - start

    elapsed = asyncio.run(run())
    assert elapsed == (0.0 if burst else pytest.approx(25 / 50, abs=1e-4))  # 25 at once, or 25 at 50 per second
