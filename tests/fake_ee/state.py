"""What a FakeEarthEngine holds: its runtime knobs, its counters and its server handles.

The knobs are set by tests while the server thread reads them, and the counters
are written by the server thread while tests read them, so both go through one
lock here; the endpoint and lifecycle mixins (`handlers_*.py`, `lifecycle.py`)
all build on this state, and `server.py` puts them together.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

_HERE = Path(__file__).resolve().parent


class ServerState:
    """Constructor arguments, runtime knobs and counters of `FakeEarthEngine` (server.py)."""

    def __init__(
        self,
        latency_s: float = 0.0,
        error_rate: float = 0.0,
        latency_per_mpx_s: float = 0.0,
        error_statuses: Iterable[int] = (429, 503),
        seed: int = 0,
        max_request_bytes: int = 50_331_648,
        max_side: int = 32768,
        token: str | None = "test-token",
    ) -> None:
        self._lock = threading.Lock()
        self._latency_s = float(latency_s)
        # cost model: a computePixels answer takes latency_s + latency_per_mpx_s per million pixels asked
        # (0 by default, so tests stay fast; benchmarks set it, so a bigger request is not free)
        self._latency_per_mpx_s = float(latency_per_mpx_s)
        self._error_rate = float(error_rate)
        self._max_request_bytes = int(max_request_bytes)
        self.error_statuses = tuple(error_statuses)
        self.max_side = int(max_side)
        self.token = token
        self.fail_grid_keys: set = set()  # grids answered 400 "User memory limit exceeded." (per-chip failures)
        self.silent_after: int | None = None  # computePixels calls answered before the server stops answering
        self.errors_after = 0  # computePixels calls answered before errors are injected (e.g. 1: spare the probe)
        # reduceRegions requests holding a feature whose property `name` equals `value` are answered
        # {(name, value): (status, message)}, e.g. {("row", 3): (400, "User memory limit exceeded.")}
        self.fail_features: dict[tuple[str, Any], tuple[int, str]] = {}
        self.max_response_bytes: int | None = None  # larger reduceRegions answers: 400 "Computed value is too large."
        self._random = random.Random(seed)
        self.url: str | None = None
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.SockSite | None = None
        self._paused = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._discovery_template = (_HERE / "discovery.json").read_text()
        self._algorithms: bytes | None = None
        self.reset_counters()

    # ----- runtime knobs (read by the server thread, set by tests) -----
    @property
    def latency_s(self) -> float:
        with self._lock:
            return self._latency_s

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        with self._lock:
            self._latency_s = float(value)

    @property
    def latency_per_mpx_s(self) -> float:
        with self._lock:
            return self._latency_per_mpx_s

    @latency_per_mpx_s.setter
    def latency_per_mpx_s(self, value: float) -> None:
        with self._lock:
            self._latency_per_mpx_s = float(value)

    @property
    def error_rate(self) -> float:
        with self._lock:
            return self._error_rate

    @error_rate.setter
    def error_rate(self, value: float) -> None:
        with self._lock:
            self._error_rate = float(value)

    @property
    def max_request_bytes(self) -> int:
        with self._lock:
            return self._max_request_bytes

    @max_request_bytes.setter
    def max_request_bytes(self, value: int) -> None:
        with self._lock:
            self._max_request_bytes = int(value)

    # ----- counters (snapshots, safe to read from any thread) -----
    def reset_counters(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._calls_by_grid: Counter[tuple[str, float, float, int, int]] = Counter()
            self._compute_pixels_calls = 0
            self._errors_injected = 0
            self._in_flight = 0
            self._max_in_flight = 0
            self._arrival_wall: list[float] = []
            self._answer_wall: list[float] = []
            self._request_times: list[float] = []
            self._reduce_regions_sizes: list[int] = []

    @property
    def requests(self) -> Counter[str]:
        """Requests by endpoint: discovery, algorithms.list, image.computePixels, value.compute, token, not_found;
        and value.compute.reduceRegions, the value:compute calls that ask for Image.reduceRegions."""
        with self._lock:
            return Counter(self._requests)

    @property
    def calls_by_grid(self) -> Counter[tuple[str, float, float, int, int]]:
        """200-answered computePixels calls keyed by (crsCode, translateX, translateY, width, height)."""
        with self._lock:
            return Counter(self._calls_by_grid)

    @property
    def compute_pixels_calls(self) -> int:
        with self._lock:
            return self._compute_pixels_calls

    @property
    def errors_injected(self) -> int:
        with self._lock:
            return self._errors_injected

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    @property
    def reduce_regions_sizes(self) -> list[int]:
        """Features in each reduceRegions request, in arrival order (answered or not)."""
        with self._lock:
            return list(self._reduce_regions_sizes)

    @property
    def request_times(self) -> list[float]:
        """time.monotonic() at arrival of each authenticated computePixels call."""
        with self._lock:
            return list(self._request_times)

    def _draw_injected_error(self) -> int | None:
        with self._lock:
            if self._error_rate <= 0 or not self.error_statuses:
                return None
            if self._random.random() >= self._error_rate:
                return None
            self._errors_injected += 1
            return self._random.choice(self.error_statuses)
