"""An endpoint that refuses connections is down, not a chip's failure: a circuit breaker per worker.

While the endpoint answers (any HTTP status, errors included) requests go straight through. The
first connection-level failure (refused, reset, DNS, unreachable: the server never saw or never
finished the exchange) opens the breaker: no request is sent, except ONE probe at a time, at once
and then after 1, 2, 4, 8, 10, 10 ... s. The first answer of any kind closes it and every waiting
request goes again. Requests that failed this way are not counted against the chip's
``download.max_attempts``: an outage of the endpoint says nothing about the chip, and a run must
survive one however long it lasts. Only the driver's ``download.stall_timeout_s`` bounds it.
"""

from __future__ import annotations

import asyncio
import errno
import time

# errnos of a connection that was refused, reset or could not be made: the endpoint, not the request
_CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
    }
)


def connection_failure(error: BaseException) -> bool:
    """True for failures to reach the endpoint at all (aiohttp's connector errors, DNS, a reset or
    closed connection), False for anything the endpoint answered or a read timeout of a live server."""
    import aiohttp

    if isinstance(error, aiohttp.ClientSSLError):
        return False  # a certificate or TLS mismatch does not heal by waiting: a failure like any other
    if isinstance(error, (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, ConnectionError)):
        return True  # refused, DNS, unreachable (ClientConnectorDNSError is one of these); closed mid-request
    return isinstance(error, aiohttp.ClientOSError) and error.errno in _CONNECTION_ERRNOS


class CircuitBreaker:
    """Whether one worker may send: ``admit()`` before a request, ``answered()`` or ``unreachable()``
    after it. One event loop only (a worker's); cheap when the endpoint is up (no await)."""

    def __init__(self, first_interval_s: float = 1.0, max_interval_s: float = 10.0) -> None:
        self.first_interval_s, self.max_interval_s = first_interval_s, max_interval_s
        self.down_since: float | None = None  # time.time() of the first failure of this outage (for display)
        self.failures = 0  # connection-level failures in this outage
        self._interval = first_interval_s
        self._next_probe = 0.0  # time.monotonic() when the next probe may go
        self._probing = False
        self._changed: asyncio.Event | None = None

    @property
    def down(self) -> bool:
        return self.down_since is not None

    async def admit(self) -> bool:
        """Wait until a request may be sent. True if this request is the outage's probe (its caller
        must report how it ended), False when the endpoint is up."""
        while self.down_since is not None:
            now = time.monotonic()
            if not self._probing and now >= self._next_probe:
                self._probing = True
                return True
            if self._changed is None:
                self._changed = asyncio.Event()
            self._changed.clear()
            wait = self._next_probe - now if not self._probing else self.max_interval_s
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.01, wait))
            except TimeoutError:
                pass
        return False

    def answered(self, probe: bool) -> None:
        """The endpoint answered (any HTTP status): it is up; every waiting request may go."""
        if probe:
            self._probing = False
        if self.down_since is not None:
            self.down_since, self.failures, self._interval = None, 0, self.first_interval_s
            self._notify()

    def unreachable(self, probe: bool) -> None:
        """A request could not reach the endpoint: open the breaker (the first probe goes at once,
        so a single dropped connection costs one immediate retry), or space the probes further."""
        now = time.monotonic()
        self.failures += 1
        if self.down_since is None:
            self.down_since = time.time()
            self._interval = self.first_interval_s
            self._next_probe = now
        elif probe:
            self._next_probe = now + self._interval
            self._interval = min(self.max_interval_s, self._interval * 2)
        if probe:
            self._probing = False
        self._notify()

    def released(self, probe: bool) -> None:
        """A probe that ended neither way (cancelled: its chip was handed back) lets the next one go."""
        if probe:
            self._probing = False
            self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
