"""The image:computePixels endpoint: latency, injected errors, validation, then the rendered pixels.

Parsing a request into (format, bands, grid) lives here too; the pixels and the
file formats themselves are rendered by `formats.py` in a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from .errors import INJECTED_MESSAGES, error_response
from .expressions import ExpressionError, infer_bands
from .formats import SUPPORTED_FORMATS, Grid, RequestError, render, request_bytes
from .state import ServerState


class PixelsHandlers(ServerState):
    """computePixels, counted in `compute_pixels_calls`, `in_flight`, `calls_by_grid` and the request times."""

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
            return error_response(injected, INJECTED_MESSAGES.get(injected, f"Injected error {injected}."))
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


def _pixels_asked(body: Any) -> int:
    """width x height of a computePixels request's grid (0 when it has none: refused later)."""
    try:
        dimensions = body["grid"]["dimensions"]
        return max(0, int(dimensions.get("width", 0))) * max(0, int(dimensions.get("height", 0)))
    except (KeyError, TypeError, ValueError, AttributeError):
        return 0


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
