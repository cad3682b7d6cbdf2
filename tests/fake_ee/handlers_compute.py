"""The value:compute endpoint: small expressions, and Image.reduceRegions with its own knobs.

reduceRegions requests get the same latency and error injection as computePixels
plus per-feature failures and a response size limit, and are counted under
`REDUCE_REGIONS` in `requests`; the histograms are computed in `reduce_regions.py`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from .errors import COMPUTED_VALUE_TOO_LARGE, INJECTED_MESSAGES, error_response
from .expressions import ExpressionError, evaluate
from .reduce_regions import feature_properties
from .state import ServerState

REDUCE_REGIONS = "value.compute.reduceRegions"  # the counter of reduceRegions requests in `requests`


class ComputeHandlers(ServerState):
    """value:compute, with reduceRegions requests counted in `in_flight` and `reduce_regions_sizes`."""

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
            return error_response(injected, INJECTED_MESSAGES.get(injected, f"Injected error {injected}."))
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


def _compute_json(expression: dict[str, Any]) -> str:
    """The value:compute answer, rendered in a worker thread (histograms cost CPU)."""
    return json.dumps({"result": evaluate(expression)}, separators=(",", ":"))
