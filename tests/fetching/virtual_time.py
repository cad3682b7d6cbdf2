"""Virtual time for timing tests that must not depend on how busy the machine is.

``VirtualTimeLoop``: an asyncio event loop whose clock jumps to its next timer instead of waiting for it:
``asyncio.sleep`` and ``asyncio.wait_for`` timeouts take no real time, and the order and spacing of
events are exact; the code under test reads the same clock (its module's ``time`` replaced by
:func:`clock_module`). ``VirtualClock`` (the ``clock`` fixture of tests/fetching/conftest.py): the
rate limiter's module-level clock and sleep replaced outright, for code that sleeps a remainder in a
loop (on the jumping loop a sleep shorter than the clock's resolution would never end)."""

from __future__ import annotations

import asyncio
import selectors
import time
import types
from collections.abc import Awaitable


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def select(self, timeout: float | None = None):
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:  # None: no timer pending, which these tests never reach
            return ready
        self.now += max(timeout, 1e-6)  # a real timer's resolution: a sleep shorter than 1 ulp of now still ends
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(selector=self._jumping)

    def time(self) -> float:
        return self._jumping.now


def run_virtual(coroutine: Awaitable, patched: list[types.ModuleType] = (), monkeypatch=None):
    """``asyncio.run(coroutine)`` on virtual time; each module in ``patched`` reads it as ``time.monotonic``."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        loop = runner.get_loop()
        for module in patched:
            monkeypatch.setattr(module, "time", clock_module(loop))
        return runner.run(coroutine)


def clock_module(loop: asyncio.AbstractEventLoop) -> types.SimpleNamespace:
    """Stands in for the ``time`` module: ``monotonic`` is the loop's virtual time, ``time`` the real one."""
    return types.SimpleNamespace(monotonic=loop.time, time=time.time)


class VirtualClock:
    """The limiter's clock and sleep, in virtual time: a sleep advances the clock by its duration (at least a
    microsecond, as a real timer's resolution does), so the limiter's timing is measured without depending on
    how busy the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 1e-6)
        await asyncio.sleep(0)  # still yield to the event loop, as a real sleep does
