import asyncio

import pytest

from geetiles.fetching import pacing
from tests.fetching.virtual_time import VirtualClock


@pytest.fixture
def clock(monkeypatch) -> VirtualClock:
    """The rate limiter on virtual time (tests/fetching/virtual_time.py)."""
    clock = VirtualClock()
    monkeypatch.setattr(pacing, "time", clock)
    monkeypatch.setattr(pacing, "asyncio", type("asyncio", (), {"Lock": asyncio.Lock, "sleep": clock.sleep}))
    return clock
