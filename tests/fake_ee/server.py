"""A fake Earth Engine REST server on 127.0.0.1 that the real `ee` client can use.

It runs aiohttp in a background thread with its own event loop, so tests stay
synchronous while many requests overlap (latency is an `asyncio.sleep`).
Knobs (latency, error injection, size limits) change at runtime and counters
record what the client asked for, so tests can assert on retries, concurrency
and tiling without Google. value:compute also answers `Image.reduceRegions` with
`Reducer.frequencyHistogram` (see `reduce_regions.py`), with the same latency
and error injection as computePixels and its own counters.

Run `python -m tests.fake_ee.server --latency 0.2` from the repository root to
serve in the foreground; the first stdout line is the base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from .expressions import ExpressionError, evaluate, infer_bands
from .formats import SUPPORTED_FORMATS, Grid, RequestError, render, request_bytes
from .reduce_regions import feature_properties

_HERE = Path(__file__).resolve().parent
_BASE_URL_PLACEHOLDER = "__BASE_URL__"
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
COMPUTED_VALUE_TOO_LARGE = "Computed value is too large."
REDUCE_REGIONS = "value.compute.reduceRegions"  # the counter of reduceRegions requests in `requests`
_INJECTED_MESSAGES = {
    429: "Too many concurrent aggregations.",
    503: "The service is currently unavailable.",
}
UNAUTHENTICATED_MESSAGE = "Request had invalid authentication credentials."
GOOD_REFRESH_TOKEN = "good-refresh-token"
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(code: int, message: str) -> web.Response:
    """Google's JSON error envelope, which googleapiclient turns into the EEException text."""
    status = _STATUS_NAMES.get(code, "UNKNOWN")
    return web.json_response({"error": {"code": code, "message": message, "status": status}}, status=code)


def _algorithms_json() -> bytes:
    """The algorithm list shipped in the earthengine-api wheel, so every ee.* method exists."""
    import ee

    return (Path(ee.__file__).resolve().parent / "tests" / "algorithms.json").read_bytes()


class FakeEarthEngine:
    """Fake Earth Engine endpoint; use as a context manager or call start()/stop()."""

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

    # ----- lifecycle -----
    def start(self) -> str:
        """Bind 127.0.0.1 on a free port, serve in a daemon thread, return the base URL."""
        if self._thread is not None:
            assert self.url is not None
            return self.url
        if self._algorithms is None:
            self._algorithms = _algorithms_json()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # resume() binds the port again
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-ee-pixels")
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(sock, ready, failure), name="fake-ee-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(30) or failure:
            self.stop()
            raise RuntimeError(f"fake Earth Engine server failed to start: {failure}")
        self.url = f"http://127.0.0.1:{port}"
        self._port = port
        return self.url

    # ----- an outage: the endpoint refusing connections, on the same port afterwards -----
    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    def pause(self) -> None:
        """Refuse connections until ``resume()``: the listening socket is closed (a new connection is
        refused) and every open connection is reset (a request in flight fails without an answer)."""
        self._call_in_loop(self._pause())

    def resume(self) -> None:
        """Listen again on the same port, as the endpoint coming back."""
        self._call_in_loop(self._resume())

    def _call_in_loop(self, coroutine: Awaitable[None]) -> None:
        assert self._loop is not None, "start() the server first"
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    async def _pause(self) -> None:
        if self._paused or self._site is None or self._runner is None:
            return
        with self._lock:
            self._paused = True
        await self._site.stop()
        self._site = None
        server = self._runner.server
        for connection in list(server.connections if server is not None else []):
            transport = connection.transport
            if transport is not None:
                transport.abort()

    async def _resume(self) -> None:
        if not self._paused or self._runner is None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._site = web.SockSite(self._runner, sock, backlog=1024)
        await self._site.start()
        with self._lock:
            self._paused = False

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._loop = self._thread = self._executor = None

    def __enter__(self) -> FakeEarthEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._make_app(), access_log=None, shutdown_timeout=0.5)
        try:
            loop.run_until_complete(runner.setup())
            site = web.SockSite(runner, sock, backlog=1024)
            loop.run_until_complete(site.start())
            self._runner, self._site = runner, site
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

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

    async def _discovery(self, request: web.Request) -> web.Response:
        """The base URL is templated in because googleapiclient builds method URLs from rootUrl."""
        base = f"{request.scheme}://{request.host}"
        return web.Response(
            text=self._discovery_template.replace(_BASE_URL_PLACEHOLDER, base), content_type="application/json"
        )

    async def _list_algorithms(self, request: web.Request) -> web.Response:
        return web.Response(body=self._algorithms, content_type="application/json")

    async def _not_found(self, request: web.Request) -> web.Response:
        return error_response(404, f"Method not found: {request.method} {request.path}")

    async def _compute_value(self, request: web.Request) -> web.Response:
        """Constants, Number arithmetic, Image.bandNames, Image.projection().nominalScale() and reduceRegions."""
        raw = await request.read()
        if b'"Image.reduceRegions"' in raw:
            return await self._tracked(self._reduce_regions(raw))
        try:
            body = json.loads(raw)
            return web.json_response({"result": evaluate(body.get("expression"))})
        except (ExpressionError, ValueError, AttributeError) as exc:
            return error_response(400, str(exc) or "Invalid request.")

    async def _tracked(self, answer: Awaitable[web.Response]) -> web.Response:
        """Counts a request in `in_flight` / `max_in_flight` while it is answered."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            return await answer
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _reduce_regions(self, raw: bytes) -> web.Response:
        """Same order as computePixels: latency, injected errors, per-feature failures, then the histograms."""
        try:
            body = json.loads(raw)
            expression = body["expression"]
            features = feature_properties(expression)
        except (ValueError, KeyError, TypeError, AttributeError):
            body, expression, features = None, None, []
        with self._lock:
            self._requests[REDUCE_REGIONS] += 1
            self._reduce_regions_sizes.append(len(features))
        latency = self.latency_s
        if latency > 0:
            await asyncio.sleep(latency)
        injected = self._draw_injected_error()
        if injected is not None:
            return error_response(injected, _INJECTED_MESSAGES.get(injected, f"Injected error {injected}."))
        if expression is None:
            return error_response(400, "Invalid JSON payload received.")
        failure = self._feature_failure(features)
        if failure is not None:
            return error_response(*failure)
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(self._executor, _compute_json, expression)
        except (ExpressionError, ValueError, AttributeError, TypeError) as exc:
            return error_response(400, str(exc) or "Invalid request.")
        limit = self.max_response_bytes
        if limit is not None and len(text) > limit:
            return error_response(400, COMPUTED_VALUE_TOO_LARGE)
        return web.Response(text=text, content_type="application/json")

    def _feature_failure(self, features: list[dict[str, Any]]) -> tuple[int, str] | None:
        failing = dict(self.fail_features)
        for properties in features:
            for key, value in properties.items():
                try:
                    hit = failing.get((key, value))
                except TypeError:  # an unhashable property value
                    continue
                if hit is not None:
                    return hit
        return None

    async def _token(self, request: web.Request) -> web.Response:
        """OAuth2 token endpoint for google-auth refresh flows (user refresh token or service-account JWT)."""
        form = await request.post()
        good_refresh = form.get("refresh_token") == GOOD_REFRESH_TOKEN
        good_jwt = (
            form.get("grant_type") == _JWT_BEARER and bool(form.get("assertion")) and "revoked" not in request.query
        )
        if not (good_refresh or good_jwt):
            return web.json_response({"error": "invalid_grant", "error_description": "Bad Request"}, status=400)
        token = self.token if self.token is not None else "test-token"
        return web.json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    async def _stats(self, request: web.Request) -> web.Response:
        """Counters and wall-clock request/answer times, for benchmarks running in another process."""
        with self._lock:
            return web.json_response(
                {
                    "compute_pixels_calls": self._compute_pixels_calls,
                    "errors_injected": self._errors_injected,
                    "max_in_flight": self._max_in_flight,
                    "arrival_times_wall": list(self._arrival_wall),
                    "answer_times_wall": list(self._answer_wall),
                    "grids_answered": len(self._calls_by_grid),
                    "grids_answered_again": sum(n - 1 for n in self._calls_by_grid.values() if n > 1),
                }
            )

    async def _compute_pixels(self, request: web.Request) -> web.Response:
        with self._lock:
            self._compute_pixels_calls += 1
            self._request_times.append(time.monotonic())
            self._arrival_wall.append(time.time())
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            return await self._answer_pixels(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _answer_pixels(self, request: web.Request) -> web.Response:
        """Order matters: latency, then injected errors, then validation, then pixels."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        latency = self.latency_s + self.latency_per_mpx_s * _pixels_asked(body) / 1e6
        if latency > 0:
            await asyncio.sleep(latency)
        if self.silent_after is not None and self.compute_pixels_calls > self.silent_after:
            await asyncio.sleep(3600)  # a server that stopped answering (the request stays open)
        injected = self._draw_injected_error() if self.compute_pixels_calls > self.errors_after else None
        if injected is not None:
            return error_response(injected, _INJECTED_MESSAGES.get(injected, f"Injected error {injected}."))
        if not isinstance(body, dict):
            return error_response(400, "Invalid JSON payload received.")
        try:
            file_format, bands, grid = _parse_pixels_request(body)
        except (ExpressionError, RequestError) as exc:
            return error_response(400, str(exc))
        size, limit = request_bytes(bands, grid.width, grid.height), self.max_request_bytes
        if size > limit:
            return error_response(
                400, f"Total request size ({size} bytes) must be less than or equal to {limit} bytes."
            )
        if grid.key in self.fail_grid_keys:
            return error_response(400, "User memory limit exceeded.")
        if grid.width > self.max_side or grid.height > self.max_side:
            return error_response(
                400, f"Grid dimensions ({grid.width}x{grid.height}) must be less than or equal to {self.max_side}."
            )
        loop = asyncio.get_running_loop()
        payload, content_type = await loop.run_in_executor(self._executor, render, bands, grid, file_format)
        if request.transport is None or request.transport.is_closing():  # reset by pause(): never delivered
            return web.Response(status=503)
        with self._lock:
            self._calls_by_grid[grid.key] += 1
            self._answer_wall.append(time.time())
        return web.Response(body=payload, content_type=content_type)

    def _draw_injected_error(self) -> int | None:
        with self._lock:
            if self._error_rate <= 0 or not self.error_statuses:
                return None
            if self._random.random() >= self._error_rate:
                return None
            self._errors_injected += 1
            return self._random.choice(self.error_statuses)


def _pixels_asked(body: Any) -> int:
    """width x height of a computePixels request's grid (0 when it has none: refused later)."""
    try:
        dimensions = body["grid"]["dimensions"]
        return max(0, int(dimensions.get("width", 0))) * max(0, int(dimensions.get("height", 0)))
    except (KeyError, TypeError, ValueError, AttributeError):
        return 0


def _compute_json(expression: dict[str, Any]) -> str:
    """The value:compute answer, rendered in a worker thread (histograms cost CPU)."""
    return json.dumps({"result": evaluate(expression)}, separators=(",", ":"))


def _parse_pixels_request(body: dict[str, Any]) -> tuple[str, list[tuple[str, Any]], Grid]:
    file_format = str(body.get("fileFormat") or "")
    if file_format not in SUPPORTED_FORMATS:
        raise RequestError(
            f"The fake server does not support fileFormat '{file_format}'; use one of {sorted(SUPPORTED_FORMATS)}."
        )
    bands = infer_bands(body.get("expression"))
    band_ids = body.get("bandIds")
    if band_ids:
        by_name = dict(bands)
        missing = [b for b in band_ids if b not in by_name]
        if missing:
            raise RequestError(f"Band ids {missing} not found. Available bands: [{', '.join(by_name)}]")
        bands = [(b, by_name[b]) for b in band_ids]
    names = [name for name, _ in bands]
    if len(set(names)) != len(names):
        raise RequestError(f"Duplicate band names: {names}.")
    return file_format, bands, Grid.from_json(body.get("grid"))


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
