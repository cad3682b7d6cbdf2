"""A fake Earth Engine REST server on 127.0.0.1 that the real `ee` client can use.

It runs aiohttp in a background thread with its own event loop, so tests stay
synchronous while many requests overlap (latency is an `asyncio.sleep`).
Knobs (latency, error injection, size limits) change at runtime and counters
record what the client asked for, so tests can assert on retries, concurrency
and tiling without Google. value:compute also answers `Image.reduceRegions` with
`Reducer.frequencyHistogram` (see `reduce_regions.py`), with the same latency
and error injection as computePixels and its own counters.

This module puts the server together: `FakeEarthEngine` routes the endpoints
(`handlers_pixels.py`, `handlers_compute.py`, `handlers_service.py`) behind the
request counter and the Authorization check, on the state of `state.py` and the
lifecycle of `lifecycle.py`; and `main()` serves it in its own process.

Run `python -m tests.fake_ee.server --latency 0.2` from the repository root to
serve in the foreground; the first stdout line is the base URL.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import COMPUTED_VALUE_TOO_LARGE, UNAUTHENTICATED_MESSAGE, error_response
from .handlers_compute import REDUCE_REGIONS, ComputeHandlers
from .handlers_pixels import PixelsHandlers
from .handlers_service import GOOD_REFRESH_TOKEN, ServiceHandlers
from .lifecycle import Lifecycle

__all__ = [
    "COMPUTED_VALUE_TOO_LARGE",
    "GOOD_REFRESH_TOKEN",
    "REDUCE_REGIONS",
    "UNAUTHENTICATED_MESSAGE",
    "FakeEarthEngine",
    "error_response",
    "main",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeEarthEngine(Lifecycle, PixelsHandlers, ComputeHandlers, ServiceHandlers):
    """Fake Earth Engine endpoint; use as a context manager or call start()/stop().

    Constructor arguments, runtime knobs and counters are those of `state.ServerState`.
    """

    # ----- HTTP -----
    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._count_and_authenticate], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/$discovery/rest", self._discovery, name="discovery")
        app.router.add_get("/v1/projects/{project}/algorithms", self._list_algorithms, name="algorithms.list")
        app.router.add_post(
            "/v1/projects/{project}/image:computePixels", self._compute_pixels, name="image.computePixels"
        )
        app.router.add_post("/v1/projects/{project}/value:compute", self._compute_value, name="value.compute")
        app.router.add_post("/token", self._token, name="token")
        app.router.add_get("/_stats", self._stats, name="stats")
        app.router.add_route("*", "/{tail:.*}", self._not_found, name="not_found")
        return app

    @web.middleware
    async def _count_and_authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every /v1 call needs `Authorization: Bearer <token>` unless auth is disabled."""
        with self._lock:
            self._requests[request.match_info.route.name or "not_found"] += 1
        if self.token is not None and request.path.startswith("/v1/"):
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return error_response(401, UNAUTHENTICATED_MESSAGE)
        return await handler(request)


def main(argv: list[str] | None = None) -> None:
    """Foreground mode for benchmarks that want the server in its own process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept per computePixels call")
    parser.add_argument(
        "--latency-per-mpx", type=float, default=0.0, help="seconds more per million pixels a computePixels call asks"
    )
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument(
        "--projected-pixels", action="store_true", help="values of projected grids from x/y, not lon/lat (pixels.py)"
    )
    parser.add_argument("--error-statuses", default="429,503", help="comma-separated HTTP statuses to inject")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-request-bytes", type=int, default=50_331_648)
    parser.add_argument("--max-side", type=int, default=32768)
    parser.add_argument("--token", default="test-token", help="'none' disables the Authorization check")
    args = parser.parse_args(argv)
    if args.projected_pixels:
        import os

        os.environ["FAKE_EE_PROJECTED_PIXELS"] = "1"
    server = FakeEarthEngine(
        latency_s=args.latency,
        latency_per_mpx_s=args.latency_per_mpx,
        error_rate=args.error_rate,
        error_statuses=tuple(int(s) for s in args.error_statuses.split(",") if s.strip()),
        seed=args.seed,
        max_request_bytes=args.max_request_bytes,
        max_side=args.max_side,
        token=None if args.token.lower() == "none" else args.token,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with server:
        print(server.url, flush=True)
        while not stop.wait(1.0):
            pass


if __name__ == "__main__":
    main()
