"""The download worker: a Ray actor (plain class here, wrapped by the engine) that fetches a batch
of chips concurrently, masks irregular chips, encodes GeoTIFFs and writes them (or returns them)."""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple

import numpy as np

from geetiles.download import geotiff
from geetiles.fetching.grid import PixelGrid
from geetiles.fetching.outcome import AuthenticationError, DeterministicError, RetriesExhausted, Tally


class ChipJob(NamedTuple):
    identifier: str
    grid: PixelGrid
    path: str
    mask_wkb: bytes | None  # lon/lat polygon of an irregular chip; pixels outside become nodata


class ChipResult(NamedTuple):
    identifier: str
    status: str  # done | failed | unauthenticated
    requests: int
    retries: int
    nbytes: int
    checksum: str
    error: str
    data: bytes | None  # the GeoTIFF, when the driver writes the files
    node: str = ""  # Ray node that fetched it (multi-node runs: which machine wrote what)


class WorkerStatus(NamedTuple):
    """What a worker is doing right now, so the driver can tell a slow run from a hung one."""

    chips: int  # chips started and not finished
    backing_off: int  # of those, waiting out a backoff before their next attempt
    last_error: str  # the last retryable error seen ('' if none)


class DownloadWorker:
    """Created as soon as Ray is up (its process start and imports overlap the driver's
    preparation), then configured with the run's endpoint once that is known."""

    def __init__(self) -> None:
        import aiohttp  # noqa: F401  (warm the imports the first chip would otherwise pay for)

        from geetiles.download import tiff_encoder  # noqa: F401

        self.fetcher = None
        self.nodata: float | None = None
        self.write_files = True
        self.request = ""
        self.node = _node_id()
        self.active: dict[int, Tally] = {}  # chips in progress, by id(job), for status()
        self.last_error = ""

    def configure(self, spec, nodata: float | None, write_files: bool, seed: int = 0, request: str = "") -> bool:
        """``spec`` is the source's FetcherSpec (Earth Engine endpoint, demo field, ...); ``request``
        the fingerprint every chip file is tagged with."""
        self.fetcher = spec.create(seed)
        self.request = request
        self.nodata = nodata
        self.write_files = write_files
        return True

    async def run_batch(self, jobs: list[ChipJob], headers: dict[str, str]) -> list[ChipResult]:
        self.fetcher.headers = headers
        results = await asyncio.gather(*(self._one(job) for job in jobs))
        return [result._replace(node=self.node) for result in results]

    async def status(self) -> WorkerStatus:
        now = time.monotonic()
        errors = [t.last_error for t in self.active.values() if t.last_error]
        return WorkerStatus(len(self.active), sum(t.backing_off(now) for t in self.active.values()),
                            errors[-1] if errors else self.last_error)

    async def close(self) -> None:
        if self.fetcher is not None:
            await self.fetcher.close()

    async def _one(self, job: ChipJob) -> ChipResult:
        tally = Tally()
        self.active[id(job)] = tally
        try:
            return await self._fetch_and_write(job, tally)
        finally:
            del self.active[id(job)]
            if tally.last_error:
                self.last_error = tally.last_error

    async def _fetch_and_write(self, job: ChipJob, tally: Tally) -> ChipResult:
        try:
            pixels = await self.fetcher.fetch(job.grid, tally)
        except AuthenticationError as error:
            return ChipResult(job.identifier, "unauthenticated", tally.requests, tally.retries, 0, "", str(error), None)
        except (DeterministicError, RetriesExhausted) as error:
            return ChipResult(job.identifier, "failed", tally.requests, tally.retries, 0, "", str(error), None)
        except Exception as error:  # never lose a chip silently: report whatever went wrong
            message = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
            return ChipResult(job.identifier, "failed", tally.requests, tally.retries, 0, "", message, None)
        array = pixels.array
        if job.mask_wkb is not None:
            array = mask_outside(array, job.grid, job.mask_wkb, self.nodata)
        try:
            data = geotiff.encode(array, job.grid.crs, job.grid.transform, pixels.band_names, self.nodata, self.request)
            if self.write_files:
                geotiff.write_bytes(job.path, data)
        except Exception as error:  # disk full, permissions: reported per chip, never silent
            message = f"writing {job.path} failed: {type(error).__name__}: {error}"
            return ChipResult(job.identifier, "failed", tally.requests, tally.retries, 0, "", message, None)
        return ChipResult(
            job.identifier, "done", tally.requests, tally.retries, len(data), geotiff.checksum(data), "",
            None if self.write_files else data,
        )


def _node_id() -> str:
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
    except Exception:  # not inside Ray (unit tests)
        return ""


def mask_outside(array: np.ndarray, grid: PixelGrid, mask_wkb: bytes, nodata: float | None) -> np.ndarray:
    """Set pixels whose centre lies outside the chip polygon (same CRS as the grid) to nodata."""
    import shapely
    from affine import Affine
    from rasterio.features import geometry_mask

    outside = geometry_mask([shapely.from_wkb(mask_wkb)], out_shape=array.shape[1:], transform=Affine(*grid.transform))
    fill = nodata if nodata is not None else 0
    if np.issubdtype(array.dtype, np.integer) and isinstance(fill, float) and not fill.is_integer():
        fill = 0
    array = array.copy()
    array[:, outside] = fill
    return array
