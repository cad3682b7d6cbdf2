"""Fetching one chip from the Earth Engine REST API: limits, retries, splitting, stitching.

This runs inside download workers (the engine hands them this source's picklable Endpoint). It calls
``projects.image.computePixels`` directly with a pre-serialised expression (built once by the driver with
earthengine-api), so that the engine owns its retry policy (the client library retries 429/5xx itself,
invisibly and with long sleeps) and spends a fraction of a millisecond of CPU per request.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from geetiles.fetching.grid import PixelGrid, Pixels
from geetiles.fetching.outage import CircuitBreaker, connection_failure
from geetiles.fetching.outcome import AuthenticationError, DeterministicError, RetriesExhausted, Tally
from geetiles.fetching.pacing import RateLimiter, RetryPolicy
from geetiles.sources.ee_sizing import SIZE_LIMIT_MESSAGE, halve, split

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
AUTH_STATUS = frozenset({401, 403})


@dataclass
class Endpoint:
    """Where and how to ask: the REST URL, the serialised expression, the limits of one worker."""

    url: str
    project: str
    expression_json: str
    max_in_flight: int
    max_requests_per_s: float
    policy: RetryPolicy
    request_timeout_s: float
    max_request_bytes: int
    max_side: int
    band_itemsizes: list[int] | None = None  # known after the first answer; drives request splitting
    headers: dict[str, str] = field(default_factory=dict)

    def share(self, max_in_flight: int, max_requests_per_s: float) -> Endpoint:
        return Endpoint(**{**self.__dict__, "max_in_flight": max_in_flight, "max_requests_per_s": max_requests_per_s})

    def create(self, seed: int) -> Fetcher:
        return Fetcher(self, seed=seed)


class Fetcher:
    """Fetches pixel grids concurrently within one worker's share of the global limits."""

    def __init__(self, endpoint: Endpoint, seed: int = 0) -> None:
        self.endpoint = endpoint
        self.headers = endpoint.headers
        self.compute_url = f"{endpoint.url}/v1/projects/{endpoint.project}/image:computePixels"
        self.body_head = '{"fileFormat":"NPY","expression":' + endpoint.expression_json + ',"grid":'
        self.in_flight = asyncio.Semaphore(endpoint.max_in_flight)
        self.rate = RateLimiter(endpoint.max_requests_per_s)
        self.breaker = CircuitBreaker()  # the endpoint refusing connections: wait it out, spend no attempt
        self.rng = random.Random(seed)
        self._session = None

    def drain_burst(self) -> None:
        """Start at the steady rate, with no burst (a replacement for a worker that died)."""
        self.rate.drain()

    async def session(self):
        import aiohttp

        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, json_serialize=json.dumps)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, grid: PixelGrid, tally: Tally) -> Pixels:
        """All pixels of ``grid``, split into several requests when it exceeds the request limits."""
        windows = [(0, 0, grid)]
        if self.endpoint.band_itemsizes:
            windows = split(grid, self.endpoint.band_itemsizes, self.endpoint.max_request_bytes, self.endpoint.max_side)
        if len(windows) == 1:
            return await self._fetch_window(grid, tally)
        return await self._fetch_windows(grid, windows, tally)

    async def _fetch_windows(self, grid: PixelGrid, windows, tally: Tally) -> Pixels:
        pieces = await asyncio.gather(*(self.fetch(sub, tally) for _, _, sub in windows))
        first = pieces[0]
        dtype = np.result_type(*(p.array.dtype for p in pieces))
        out = np.empty((first.array.shape[0], grid.height, grid.width), dtype=dtype)
        for (row, col, sub), piece in zip(windows, pieces):
            out[:, row : row + sub.height, col : col + sub.width] = piece.array
        return Pixels(out, first.band_names)

    async def _fetch_window(self, grid: PixelGrid, tally: Tally) -> Pixels:
        body = self.body_head + json.dumps(grid.to_request(), separators=(",", ":")) + "}"
        attempt = 0
        while True:
            probe = await self.breaker.admit()
            try:
                sent = await self._send(body, tally, probe)
            except BaseException:  # cancelled (the chip was handed back): the next probe may go
                self.breaker.released(probe)
                raise
            if sent is None:
                continue  # the endpoint went down while this request waited for a slot: wait with the others
            status, payload, unreachable = sent
            if unreachable:  # an outage of the endpoint, not this chip's failure: no attempt spent
                self.breaker.unreachable(probe)
                tally.retries += 1
                tally.last_error = f"endpoint unreachable: {error_message(None, payload)}"
                continue
            if status is None:  # a timeout: the endpoint took the request, so it is no outage
                self.breaker.released(probe)
            else:
                self.breaker.answered(probe)
            attempt += 1
            if status == 200:
                return decode_npy(payload)
            message = error_message(status, payload)
            if status == 400 and SIZE_LIMIT_MESSAGE.search(message) and (grid.width > 1 or grid.height > 1):
                return await self._fetch_windows(grid, halve(grid), tally)
            if status in AUTH_STATUS:
                raise AuthenticationError(message)
            if status is not None and status not in RETRYABLE_STATUS:
                raise DeterministicError(message)
            tally.last_error = message
            if attempt >= self.endpoint.policy.max_attempts:
                raise RetriesExhausted(f"gave up after {attempt} attempts: {message}")
            tally.retries += 1
            delay = self.endpoint.policy.delay(attempt, self.rng)
            tally.backoff_until = time.monotonic() + delay
            try:
                await asyncio.sleep(delay)
            finally:
                tally.backoff_until = 0.0

    async def _send(self, body: str, tally: Tally, probe: bool) -> tuple[int | None, bytes, bool] | None:
        """One request within the rate and in-flight limits: (HTTP status or None, body or error
        text, whether the endpoint could not be reached); None if it went down meanwhile."""
        import aiohttp

        await self.rate.acquire()
        async with self.in_flight:
            if self.breaker.down and not probe:
                return None
            tally.requests += 1
            tally.in_request = True
            try:
                session = await self.session()
                async with session.post(
                    self.compute_url,
                    data=body,
                    headers={"Content-Type": "application/json", **self.headers},
                    timeout=aiohttp.ClientTimeout(total=self.endpoint.request_timeout_s),
                ) as response:
                    return response.status, await response.read(), False
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as error:
                return None, f"{type(error).__name__}: {error}".encode(), connection_failure(error)
            finally:
                tally.in_request = False


_NPY_MAGIC = b"\x93NUMPY"


@lru_cache(maxsize=64)
def _npy_header(header: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """numpy's own parse of an .npy header (shape, fortran order, dtype). Every chip of a run has
    the same header and numpy parses it with ``ast.literal_eval``, so it is parsed once."""
    stream = io.BytesIO(header)
    version = np.lib.format.read_magic(stream)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return reader(stream, max_header_size=len(header) + 1)


def read_npy(payload: bytes) -> np.ndarray:
    """``np.load`` for the .npy bytes Earth Engine returns, without re-parsing a known header."""
    if payload[:6] != _NPY_MAGIC or payload[6] not in (1, 2):
        return np.load(io.BytesIO(payload), allow_pickle=False)  # other versions: numpy's general path
    size_bytes = 2 if payload[6] == 1 else 4
    length = int.from_bytes(payload[8 : 8 + size_bytes], "little")
    offset = 8 + size_bytes + length
    shape, fortran, dtype = _npy_header(payload[:offset])
    if dtype.hasobject:
        raise ValueError("object arrays are not pixels")
    count = int(np.prod(shape))
    array = np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def decode_npy(payload: bytes) -> Pixels:
    """Earth Engine's NPY answer is a structured (height, width) array, one field per band."""
    structured = read_npy(payload)
    names = list(structured.dtype.names or ())
    if not names:  # a plain array: one band
        return Pixels(structured[np.newaxis], ["b1"])
    dtype = np.result_type(*(structured.dtype[name] for name in names))
    array = np.empty((len(names), *structured.shape), dtype=dtype)
    for i, name in enumerate(names):
        array[i] = structured[name]
    return Pixels(array, names)


def error_message(status: int | None, payload: bytes) -> str:
    """Google's ``{"error": {"message": ...}}`` text, or the raw body, on one line."""
    text = payload.decode("utf-8", errors="replace")
    try:
        detail = json.loads(text).get("error", {})
        text = detail.get("message", text) if isinstance(detail, dict) else str(detail)
    except (ValueError, AttributeError):
        pass
    text = " ".join(text.split())[:500]
    return f"HTTP {status}: {text}" if status is not None else text
