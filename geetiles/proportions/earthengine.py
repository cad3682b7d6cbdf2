"""Per-unit label proportions counted by Earth Engine (``proportions=earthengine``).

Why: coarse units (communes, random pieces) cover far more label pixels than are worth downloading;
Earth Engine counts them where they are. The labels image the download would fetch (one image for
every unit: no recipe depends on a tile's geometry) is reduced over batches of units with
``reduceRegions`` and ``Reducer.frequencyHistogram``: per unit, {pixel value: pixels}, each pixel
weighted by the fraction of it inside the unit. The same :class:`LabelTable` as the local engine turns
that into a :class:`Counts` row, so both engines write the same columns.

- Masked pixels are unmasked to the table's nodata value (``sameFootprint: false``, so the parts of a
  unit outside the dataset's footprint count too): every pixel of a unit is in its histogram, so
  ``inside`` is the histogram's sum and the table decides what is nodata, unknown or a class. A table
  without a finite nodata (float labels) gets the sentinel MASKED_FILL instead, counted as nodata.
- Only the image's first band is counted, as the local engine reads only a chip's first band.
- The reduction runs in the image's own projection (``crs`` = its first band's projection), at its
  native scale unless ``proportions.scale_m`` is set. A composite (mosaic, median) has no native
  projection (Earth Engine reports 1 degree); the run then stops at once and asks for ``scale_m``.
- Requests go straight to the REST API (``value:compute``) with the download's caps, retry policy and
  error handling (``sources/ee_rest.py``). The image part of the expression is serialised once by
  earthengine-api; the units are serialised here, as plain GeoJSON arrays, not through earthengine-api's
  geometry objects.
- A batch Earth Engine finds too heavy or too large is split in halves (down to single units, whose
  ``tileScale`` then grows); 429/5xx and timeouts are retried with backoff; a unit whose request
  finally fails is in ``Counts.failed`` with the reason, and every other batch still completes.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from geetiles.classes import NODATA, UNKNOWN, LabelTable
from geetiles.errors import RunFailed, UserInputError
from geetiles.fetching.outcome import AuthenticationError
from geetiles.fetching.pacing import RateLimiter
from geetiles.proportions.counting import Counts
from geetiles.sources.ee_rest import AUTH_STATUS, RETRYABLE_STATUS, Endpoint, error_message

ROW = "geetiles_row"  # the feature property holding the unit's row number
HISTOGRAM = "histogram"  # reduceRegions names a one-band image's single output after the reducer's
MASKED_FILL = -(2.0**100)  # masked pixels' value when the table has no nodata (exact in float32 and float64)
TILE_SCALES = (1, 4, 16)  # a single unit that runs out of memory is retried with a larger tileScale
DEGREE_M = 111319.49079327357  # the nominal scale of a 1-degree projection: what composites report
# Earth Engine's answers that depend on how much one request asks for: a smaller batch may pass
TOO_MUCH = re.compile(
    r"memory limit|too many concurrent aggregations|computed value is too large|"
    r"payload size exceeds|computation timed out|object too large|response size",
    re.IGNORECASE,
)
# ... and among them those a larger tileScale may cure for one unit
TOO_HEAVY = re.compile(r"memory limit|too many concurrent aggregations|computation timed out", re.IGNORECASE)
_PLACEHOLDER_TABLE = "geetiles/units-placeholder"
_MARK = "@@geetiles-units@@"
_CRS_4326 = {
    "functionInvocationValue": {"functionName": "Projection", "arguments": {"crs": {"constantValue": "EPSG:4326"}}}
}


def count_units(experiment, labels_config, geometries: np.ndarray, table: LabelTable, progress=None) -> Counts:
    """Class pixels of every unit (lon/lat polygons) of the labels image, counted by Earth Engine."""
    from geetiles.sources.earthengine import EarthEngineSource

    settings = experiment.config.proportions
    total = len(geometries)
    counts = Counts(np.zeros((total, len(table.keys))), np.zeros(total), np.zeros(total))
    if total == 0:
        return counts
    source = EarthEngineSource(experiment.config, labels_config)
    source.connect()  # credentials, project, client; fails fast with a one-line message
    fill = fill_value(table)
    raw, image = labels_images(source.definition, fill)
    query = Query(image, raw, settings.scale_m)
    runner = Runner(source.spec(), source.session, query, table, fill, counts, progress)
    try:
        asyncio.run(
            runner.run(
                geometries,
                settings.units_per_request,
                _nominal_scale_expression(raw),
                settings.scale_m is None,
                source.name,
            )
        )
    except AuthenticationError as error:
        raise UserInputError(
            f"Earth Engine refused the credentials ({error}); run `earthengine authenticate` "
            "or set ee.credentials to a valid key file"
        ) from None
    return counts


def fill_value(table: LabelTable) -> float:
    """What masked pixels become: the table's nodata, or a sentinel that no label takes."""
    nodata = table.nodata
    return MASKED_FILL if nodata is None or not math.isfinite(nodata) else float(nodata)


def labels_images(definition, fill: float):
    """(the labels' first band, the same with masked pixels set to ``fill``), as ee.Images."""
    import ee

    raw = ee.Image(definition.build_image()).select([0])
    value = (
        int(fill) if fill.is_integer() and abs(fill) < 2**31 else fill
    )  # an integral fill keeps integer bands integer
    return raw, raw.unmask(value=value, sameFootprint=False)


def _nominal_scale_expression(raw) -> str:
    import ee

    return json.dumps(ee.serializer.encode(raw.projection().nominalScale(), for_cloud_api=True), separators=(",", ":"))


class Query:
    """The reduceRegions expression for a batch of units: serialised once per tileScale, units spliced in."""

    def __init__(self, image, raw, scale_m: float | None) -> None:
        self.image, self.raw, self.scale_m = image, raw, scale_m
        self._parts: dict[int, tuple[str, str]] = {}

    def body(self, units: list[str], tile_scale: int) -> str:
        """The value:compute request body for ``units`` (JSON nodes from :func:`unit_node`)."""
        if tile_scale not in self._parts:
            self._parts[tile_scale] = self._template(tile_scale)
        head, tail = self._parts[tile_scale]
        collection = (
            '{"functionInvocationValue":{"functionName":"Collection","arguments":{"features":'
            '{"arrayValue":{"values":[' + ",".join(units) + "]}}}}}"
        )
        return '{"expression":' + head + collection + tail + "}"

    def _template(self, tile_scale: int) -> tuple[str, str]:
        import ee

        placeholder = ee.FeatureCollection(_PLACEHOLDER_TABLE)
        encoded = ee.serializer.encode(placeholder, for_cloud_api=True)
        placeholder_node = encoded["values"][encoded["result"]]
        result = self.image.reduceRegions(
            collection=placeholder,
            reducer=ee.Reducer.frequencyHistogram(),
            scale=self.scale_m,
            crs=self.raw.projection(),
            tileScale=tile_scale,
        )
        result = result.select([ROW, HISTOGRAM], None, False)  # the answer without the units' geometries
        text = json.dumps(
            _replace(ee.serializer.encode(result, for_cloud_api=True), placeholder_node, _MARK), separators=(",", ":")
        )
        pieces = text.split(json.dumps(_MARK))
        if len(pieces) != 2:
            raise RuntimeError("cannot find the units' place in the serialised reduceRegions expression")
        return pieces[0], pieces[1]


def _replace(node: Any, old: Any, new: Any) -> Any:
    if node == old:
        return new
    if isinstance(node, dict):
        return {key: _replace(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace(value, old, new) for value in node]
    return node


def unit_node(row: int, geometry) -> str | None:
    """A unit as a serialised ``Feature`` (planar lon/lat polygon, property ROW); None when it has no area.

    Raises ValueError for a geometry that is not a polygon (nor holds any)."""
    if geometry is None:
        raise ValueError("no geometry")
    kind = geometry.geom_type
    areal = shapely.is_empty(geometry) or shapely.get_dimensions(geometry) == 2
    if not shapely.is_valid(geometry):
        geometry = shapely.make_valid(geometry)  # a degenerate polygon may become a line: no area, counted empty
    polygons = _polygons(geometry)
    if not polygons:
        if areal:
            return None
        raise ValueError(f"a {kind}, not a polygon")
    if len(polygons) == 1:
        kind, coordinates = "Polygon", _polygon_coordinates(polygons[0])
    else:
        kind, coordinates = "MultiPolygon", [_polygon_coordinates(p) for p in polygons]
    node = {
        "functionInvocationValue": {
            "functionName": "Feature",
            "arguments": {
                "geometry": {
                    "functionInvocationValue": {
                        "functionName": f"GeometryConstructors.{kind}",
                        "arguments": {
                            "coordinates": {"constantValue": coordinates},
                            "crs": _CRS_4326,
                            "geodesic": {"constantValue": False},
                        },
                    }
                },
                "metadata": {"constantValue": {ROW: int(row)}},
            },
        }
    }
    return json.dumps(node, separators=(",", ":"), allow_nan=False)


def _polygons(geometry) -> list:
    """The non-empty polygons of ``geometry`` (collections from make_valid may hold lines and points too)."""
    parts = shapely.get_parts(geometry)
    found = []
    for part in parts:
        kind = shapely.get_type_id(part)
        if kind == 3 and not shapely.is_empty(part):
            found.append(part)
        elif kind in (6, 7):
            found.extend(_polygons(part))
    return found


def _polygon_coordinates(polygon) -> list[list[list[float]]]:
    rings = [polygon.exterior, *polygon.interiors]
    return [shapely.get_coordinates(ring).tolist() for ring in rings]


def histogram_counts(
    histogram: dict[str, float] | None, table: LabelTable, fill: float
) -> tuple[np.ndarray, float, float]:
    """(class pixels, pixels inside, unknown pixels) of one unit's weighted histogram {value text: pixels}."""
    if not histogram:
        return np.zeros(len(table.keys)), 0.0, 0.0
    values = np.fromiter((float(key) for key in histogram), dtype=np.float64, count=len(histogram))
    weights = np.fromiter((float(w) for w in histogram.values()), dtype=np.float64, count=len(histogram))
    index = table.class_index(values)
    if fill == MASKED_FILL:
        index[np.isclose(values, MASKED_FILL, rtol=1e-9, atol=0.0)] = NODATA
    valid = index >= 0
    classes = np.bincount(index[valid], weights=weights[valid], minlength=len(table.keys)).astype(np.float64)
    return classes, float(weights.sum()), float(weights[index == UNKNOWN].sum())


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
            result = _result(payload) if status == 200 else None
            if result is _UNREADABLE:
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


_UNREADABLE = object()


def _result(payload: bytes) -> Any:
    """The ``result`` of a value:compute answer, or _UNREADABLE."""
    try:
        return json.loads(payload)["result"]
    except (ValueError, KeyError, TypeError):
        return _UNREADABLE
