"""The download worker: a Ray actor (plain class here, wrapped by the engine) that fetches chips
concurrently, masks irregular chips, encodes GeoTIFFs and writes them (or returns them).

The driver talks to it by ``exchange``: hand over new chips, take back the ones finished since the
last call. Chips flow one by one, so a chip waiting out a long backoff holds back nobody but itself
(with whole batches, a batch waited for its slowest chip and the worker ran dry)."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from geetiles.download import geotiff
from geetiles.download.blocks import Block, bundle, chips_in, jobs_in
from geetiles.download.cutting import fetch_block
from geetiles.download.messages import ChipJob, ChipResult, Exchange, Placement, WorkerStatus
from geetiles.errors import DiskFull
from geetiles.fetching.grid import PixelGrid
from geetiles.fetching.outcome import AuthenticationError, DeterministicError, RetriesExhausted, Tally


class DownloadWorker:
    """Created as soon as Ray is up (its process start and imports overlap the driver's
    preparation), then configured with the run's endpoint once that is known."""

    def __init__(self) -> None:
        import aiohttp  # noqa: F401  (warm the imports the first chip would otherwise pay for)

        from geetiles.download.ray_head import restore_user_umask
        from geetiles.tiff import writer  # noqa: F401

        restore_user_umask()  # a local head's workers start private (umask 077); chips get the user's modes

        self.fetcher = None
        self.nodata: float | None = None
        self.colormap = None  # label chips: their classes' colour table
        self.write_files = True
        self.request = ""
        self.node = _node_id()
        self.active: dict[asyncio.Task, tuple[ChipJob, Tally]] = {}  # chips in progress
        self.finished: list[tuple[ChipJob, ChipResult]] = []  # not yet taken (by exchange or the bootstrap)
        self.arrived: asyncio.Event | None = None  # set when a chip finishes
        self.last_error = ""
        self.download = ""  # the download this worker serves (its driver's token): calls of another get nothing

    def configure(
        self,
        spec,
        nodata: float | None,
        write_files: bool,
        seed: int = 0,
        request: str = "",
        burst: bool = True,
        download: str = "",
        colormap=None,
    ) -> Placement:
        """``spec`` is the source's FetcherSpec (Earth Engine endpoint, demo field, ...); ``request``
        the fingerprint every chip file is tagged with; ``burst=False`` for a worker that replaces a
        dead one: its rate limit starts with no burst in hand; ``colormap``: the label classes' colour
        table every chip carries (None for imagery)."""
        import os
        import socket

        self.fetcher = spec.create(seed)
        if not burst and hasattr(self.fetcher, "drain_burst"):
            self.fetcher.drain_burst()
        self.request, self.download = request, download
        self.nodata, self.colormap = nodata, colormap
        self.write_files = write_files
        return Placement(os.getpid(), socket.gethostname(), self.node)

    async def run_batch(self, jobs: list[ChipJob], headers: dict[str, str]) -> list[ChipResult]:
        """Fetch ``jobs`` (in blocks where they are tagged with cells) and return their results, in their
        order, when all have finished (tests and benchmarks; the engine uses exchange)."""
        self.fetcher.headers = headers
        self.start(jobs)
        while self.active:
            await asyncio.wait(list(self.active))
            await asyncio.sleep(0)  # the done callbacks collect the results
        finished, self.finished = self.finished, []
        by_identifier = {job.identifier: result for job, result in finished}
        return [by_identifier[job.identifier] for job in jobs]

    async def exchange(
        self,
        jobs: list[ChipJob],
        headers: dict[str, str] | None,
        wait_s: float = 1.0,
        enough: int = 64,
        linger_s: float = 0.2,
        download: str = "",
    ) -> Exchange:
        """Start ``jobs``; return the chips finished since the last call once ``enough`` have finished
        (or all), or ``linger_s`` after the first of them, or after ``wait_s`` with none (so the driver
        hears from every worker at least that often). A call of a download this worker no longer
        serves (``download``: the token ``configure`` was given; Ray may start a call after a later
        one) returns nothing: the chips finished now are the next download's."""
        if download != self.download:
            return Exchange([], 0, 0)
        loop = asyncio.get_running_loop()
        if headers is not None:
            self.fetcher.headers = headers
        self.start(jobs)
        deadline, first = loop.time() + wait_s, None
        while not (self.finished and (len(self.finished) >= enough or not self.active)):
            if download != self.download:
                break
            now = loop.time()
            if self.finished and first is None:
                first = now
            until = min(deadline, first + linger_s) if first is not None else deadline
            if now >= until:
                break
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), until - now)
            except TimeoutError:
                pass
        if download != self.download:  # the worker rested meanwhile
            return Exchange([], 0, 0)
        finished, self.finished = self.finished, []
        now = time.monotonic()
        return Exchange(
            [result for _, result in finished],
            self.active_chips(),
            sum(chips_in(unit) for unit, tally in self.active.values() if tally.backing_off(now)),
            self.unreachable_since(),
        )

    def unreachable_since(self) -> float:
        """time.time() since when this worker's endpoint refuses connections; 0.0 while it answers."""
        breaker = getattr(self.fetcher, "breaker", None)
        return (breaker.down_since or 0.0) if breaker is not None else 0.0

    def start(self, jobs: list[ChipJob]) -> None:
        """Start fetching ``jobs`` (from inside the event loop); results gather in ``finished``."""
        if self.arrived is None:
            self.arrived = asyncio.Event()
        for unit in bundle(jobs):  # a Block (several chips, one request) or a ChipJob
            tally = Tally()
            work = fetch_block(self, unit, tally) if isinstance(unit, Block) else self._one(unit, tally)
            task = asyncio.get_running_loop().create_task(work)
            self.active[task] = (unit, tally)
            task.add_done_callback(self._collect)

    def active_chips(self) -> int:
        """Chips started and not finished (a block counts its chips)."""
        return sum(chips_in(unit) for unit, _ in self.active.values())

    async def drop_waiting(self) -> list[str]:
        """The remote form of ``hand_back`` (the disk is full: chips not yet on the wire are dropped);
        the identifiers of the chips dropped."""
        return [job.identifier for job in self.hand_back()]

    def hand_back(self) -> list[ChipJob]:
        """Cancel the chips with no request in flight (not started, queued for a request slot, or
        backing off) and return them, so another worker can take them over at once."""
        returned = []
        for task, (unit, tally) in list(self.active.items()):
            # a task that has finished but whose result is not collected yet refuses the cancel
            if not tally.in_request and task.cancel():
                returned.extend(jobs_in(unit))
        return returned

    def _collect(self, task: asyncio.Task) -> None:
        unit, _ = self.active.pop(task)
        if task.cancelled():  # handed back
            return
        pairs = task.result() if isinstance(unit, Block) else [(unit, task.result())]
        self.finished.extend((job, result._replace(node=self.node)) for job, result in pairs)
        self.arrived.set()

    async def status(self) -> WorkerStatus:
        now = time.monotonic()
        tallies = [tally for _, tally in self.active.values()]
        errors = [t.last_error for t in tallies if t.last_error]
        return WorkerStatus(
            self.active_chips(),
            sum(chips_in(unit) for unit, tally in self.active.values() if tally.backing_off(now)),
            errors[-1] if errors else self.last_error,
            self.unreachable_since(),
        )

    async def close(self) -> None:
        if self.fetcher is not None:
            await self.fetcher.close()

    async def rest(self) -> bool:
        """Between two downloads on one Ray (a run's images, then its labels): close the run's
        connections and forget it, so the next download configures this process instead of starting
        one. False while chips are still in progress: the driver then ends this worker."""
        if self.active:
            return False
        self.download = ""
        if self.arrived is not None:  # calls left waiting end now, with nothing
            self.arrived.set()
        await self.close()
        self.fetcher, self.request, self.finished, self.last_error = None, "", [], ""
        return True

    async def _one(self, job: ChipJob, tally: Tally) -> ChipResult:
        try:
            return await self._fetch_and_write(job, tally)
        finally:
            if tally.last_error:
                self.last_error = tally.last_error

    async def _fetch_and_write(self, job: ChipJob, tally: Tally) -> ChipResult:
        try:
            pixels = await self.fetcher.fetch(job.grid, tally)
        except AuthenticationError as error:
            return ChipResult(job.identifier, "unauthenticated", tally.requests, tally.retries, 0, "", str(error), None)
        except RetriesExhausted as error:  # the driver gives it one more round, at the end of the queue
            return ChipResult(job.identifier, "exhausted", tally.requests, tally.retries, 0, "", str(error), None)
        except DeterministicError as error:
            return ChipResult(job.identifier, "failed", tally.requests, tally.retries, 0, "", str(error), None)
        except Exception as error:  # never lose a chip silently: report whatever went wrong
            message = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
            return ChipResult(job.identifier, "failed", tally.requests, tally.retries, 0, "", message, None)
        return self.write(job, pixels, tally)

    def write(self, job: ChipJob, pixels, tally: Tally) -> ChipResult:
        """Mask, encode and write (or return) one chip's pixels: the same for a chip fetched alone
        and for one cut out of a block, so both give the same bytes."""
        array = pixels.array
        if job.mask_wkb is not None:
            array = mask_outside(array, job.grid, job.mask_wkb, self.nodata)
        try:
            grid = job.grid
            data = geotiff.encode(
                array, grid.crs, grid.transform, pixels.band_names, self.nodata, self.request, self.colormap
            )
            if self.write_files:
                geotiff.write_bytes(job.path, data)
        except DiskFull as error:  # not the chip's fault: the driver stops the run with one line
            return ChipResult(job.identifier, "disk_full", tally.requests, tally.retries, 0, "", error.path, None)
        except Exception as error:  # permissions and the like: reported per chip, never silent
            message = f"writing {job.path} failed: {type(error).__name__}: {error}"
            return ChipResult(job.identifier, "failed", tally.requests, tally.retries, 0, "", message, None)
        return ChipResult(
            job.identifier,
            "done",
            tally.requests,
            tally.retries,
            len(data),
            geotiff.checksum(data),
            "",
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
