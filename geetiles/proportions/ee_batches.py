"""The batching loop of ``proportions=earthengine``: batches of units sent within the download's caps
(in flight, requests a second), retried with backoff, split in halves when Earth Engine finds one too heavy
or too large, and every answer folded into the :class:`Counts` as it arrives.

Why apart from the request (:mod:`geetiles.proportions.ee_request`): this is the part that waits, retries
and decides; what a request says and what an answer means do not change with it.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from geetiles.classes import LabelTable
from geetiles.errors import RunFailed, UserInputError
from geetiles.fetching.outcome import AuthenticationError
from geetiles.fetching.pacing import RateLimiter
from geetiles.proportions.counting import Counts
from geetiles.proportions.ee_request import (
    DEGREE_M,
    HISTOGRAM,
    ROW,
    UNREADABLE,
    Query,
    answer_result,
    histogram_counts,
    unit_node,
)
from geetiles.sources.ee_rest import AUTH_STATUS, RETRYABLE_STATUS, Endpoint, error_message

TILE_SCALES = (1, 4, 16)  # a single unit that runs out of memory is retried with a larger tileScale
# Earth Engine's answers that depend on how much one request asks for: a smaller batch may pass
TOO_MUCH = re.compile(
    r"memory limit|too many concurrent aggregations|computed value is too large|"
    r"payload size exceeds|computation timed out|object too large|response size",
    re.IGNORECASE,
)
# ... and among them those a larger tileScale may cure for one unit
TOO_HEAVY = re.compile(r"memory limit|too many concurrent aggregations|computation timed out", re.IGNORECASE)


@dataclass
class Batch:
    units: list[tuple[int, str]]  # (row, serialised feature)
    failures: int = 0  # retryable failures so far (carried into halves)
    tile_step: int = 0  # index in TILE_SCALES
    auth_failures: int = 0

    def halves(self) -> list[Batch]:
        middle = len(self.units) // 2
        return [
            Batch(self.units[:middle], self.failures, self.tile_step),
            Batch(self.units[middle:], self.failures, self.tile_step),
        ]

    @property
    def rows(self) -> list[int]:
        return [row for row, _ in self.units]


class Runner:
    """Sends the batches within the global caps and fills ``counts`` as answers arrive."""

    def __init__(
        self, endpoint: Endpoint, session, query: Query, table: LabelTable, fill: float, counts: Counts, progress=None
    ) -> None:
        self.endpoint, self.session, self.query = endpoint, session, query
        self.table, self.fill, self.counts, self.progress = table, fill, counts, progress
        self.url = f"{endpoint.url}/v1/projects/{endpoint.project}/value:compute"
        self.rng = random.Random(0)
        self.retries_unreported = 0

    async def run(
        self, geometries: np.ndarray, per_request: int, scale_expression: str, native: bool, name: str
    ) -> None:
        import aiohttp

        self.in_flight = asyncio.Semaphore(self.endpoint.max_in_flight)
        self.rate = RateLimiter(self.endpoint.max_requests_per_s)
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        async with aiohttp.ClientSession(connector=connector) as self.http:
            await self._check_projection(scale_expression, native, name)
            starts = iter(range(0, len(geometries), max(1, per_request)))

            async def worker() -> None:
                for start in starts:  # shared iterator: each batch is serialised only when a worker takes it
                    await self._run_batch(self._prepare(geometries, start, min(start + per_request, len(geometries))))

            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(max(1, self.endpoint.max_in_flight)):
                        group.create_task(worker())
            except ExceptionGroup as errors:  # the first error stops the run (credentials refused, a bug)
                raise errors.exceptions[0] from None

    async def _check_projection(self, expression: str, native: bool, name: str) -> None:
        """One small request first: a dataset Earth Engine refuses, or a composite reduced at its
        1-degree default projection, stops the run before any batch is sent."""
        body = '{"expression":' + expression + "}"
        status, scale, message = await self._request(body, retry=True)
        if status in AUTH_STATUS:
            self.session.force_refresh()
            status, scale, message = await self._request(body, retry=True)
        if status in AUTH_STATUS:
            raise AuthenticationError(message)
        if status != 200:
            if status is not None and status not in RETRYABLE_STATUS:
                raise UserInputError(f"Earth Engine refuses labels dataset {name!r}: {message}")
            raise RunFailed(f"Earth Engine is not answering ({message}); no proportions were computed, rerun later")
        if native and isinstance(scale, (int, float)) and abs(scale - DEGREE_M) < 1.0:
            raise UserInputError(
                f"labels dataset {name!r} has no native projection (a composite such as mosaic or median "
                "reports 1 degree); set proportions.scale_m to its pixel size in metres, e.g. proportions.scale_m=10"
            )

    def _prepare(self, geometries: np.ndarray, start: int, stop: int) -> Batch:
        """The batch's units serialised; units without area are counted as empty, broken ones failed."""
        units = []
        for row in range(start, stop):
            try:
                node = unit_node(row, geometries[row])
            except Exception as error:  # one broken geometry must not stop the others; it is reported
                self._finish([row], failed=f"cannot send the unit's geometry: {error}")
                continue
            if node is None:
                self._finish([row])
            else:
                units.append((row, node))
        return Batch(units)

    async def _run_batch(self, batch: Batch) -> None:
        while batch.units:
            body = self.query.body([node for _, node in batch.units], TILE_SCALES[batch.tile_step])
            status, result, message = await self._request(body)
            if status == 200:
                self._take_answer(batch, result)
                return
            if status in AUTH_STATUS:
                batch.auth_failures += 1
                if batch.auth_failures > 1:
                    raise AuthenticationError(message)
                self.session.force_refresh()
                continue
            retryable = status is None or status in RETRYABLE_STATUS
            batch.failures += retryable
            too_much = TOO_MUCH.search(message) is not None
            if (too_much or not retryable) and len(
                batch.units
            ) > 1:  # a smaller request may pass (or isolate the culprit)
                if retryable:
                    await self._backoff(batch.failures)
                for half in batch.halves():
                    await self._run_batch(half)  # in turn: this worker's share of the concurrency
                return
            if TOO_HEAVY.search(message) and batch.tile_step + 1 < len(TILE_SCALES):
                batch.tile_step += 1
                if retryable:
                    await self._backoff(batch.failures)
                continue
            if retryable and batch.failures < self.endpoint.policy.max_attempts:
                self.retries_unreported += 1
                await self._backoff(batch.failures)
                continue
            reason = f"gave up after {batch.failures} attempts: {message}" if retryable else message
            self._finish(batch.rows, failed=reason)
            return

    async def _request(self, body: str, retry: bool = False) -> tuple[int | None, Any, str]:
        """(status, the answer's result, error message) of one POST; with ``retry``, 429/5xx and timeouts
        are retried (with backoff, up to download.max_attempts) before the last outcome is returned."""
        import aiohttp

        attempt = 0
        while True:
            attempt += 1
            await self.rate.acquire()
            async with self.in_flight:
                headers = {"Content-Type": "application/json", **self.session.auth_headers()}
                try:
                    async with self.http.post(
                        self.url,
                        data=body.encode(),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.endpoint.request_timeout_s),
                    ) as response:
                        status, payload = response.status, await response.read()
                except (TimeoutError, aiohttp.ClientError) as error:
                    status, payload = None, f"{type(error).__name__}: {error}".encode()
            result = answer_result(payload) if status == 200 else None
            if result is UNREADABLE:
                status, payload = None, b"an unreadable answer (not JSON with a result)"
            if status == 200:
                return status, result, ""
            message = error_message(status, payload)
            retryable = status is None or status in RETRYABLE_STATUS
            if not (retry and retryable) or attempt >= self.endpoint.policy.max_attempts:
                return status, None, message
            self.retries_unreported += 1
            await self._backoff(attempt)

    async def _backoff(self, failures: int) -> None:
        await asyncio.sleep(self.endpoint.policy.delay(max(1, failures), self.rng))

    def _take_answer(self, batch: Batch, result: Any) -> None:
        rows = set(batch.rows)
        answered, counted = set(), []
        features = result.get("features") if isinstance(result, dict) else None
        for feature in features if isinstance(features, list) else []:
            properties = (feature.get("properties") if isinstance(feature, dict) else None) or {}
            row = properties.get(ROW)
            row = int(row) if isinstance(row, (int, float)) and float(row).is_integer() else None
            if row not in rows or row in answered:
                continue
            answered.add(row)
            try:
                classes, inside, unknown = histogram_counts(properties.get(HISTOGRAM), self.table, self.fill)
            except (ValueError, TypeError, AttributeError) as error:
                self._finish([row], failed=f"unreadable histogram in Earth Engine's answer ({error})")
                continue
            self.counts.classes[row], self.counts.inside[row], self.counts.unknown[row] = classes, inside, unknown
            counted.append(row)
        self._finish(counted)
        missing = sorted(rows - answered)
        if missing:
            self._finish(missing, failed="missing from Earth Engine's answer")

    def _finish(self, rows: list[int], failed: str | None = None) -> None:
        if failed is not None:
            self.counts.failed.update({row: failed for row in rows})
        if self.progress is not None and (rows or self.retries_unreported):
            done = 0 if failed is not None else len(rows)
            self.progress.update(done, len(rows) - done, self.retries_unreported)
            self.retries_unreported = 0
