"""What the driver and its download workers hand each other: chips to fetch, their results, and the
workers' state and placement. Its own module so that the worker and the block cutter (which writes
chips for the worker) both use these without importing each other."""

from __future__ import annotations

from typing import NamedTuple

from geetiles.fetching.grid import PixelGrid


class ChipJob(NamedTuple):
    identifier: str
    grid: PixelGrid
    path: str
    mask_wkb: bytes | None  # lon/lat polygon of an irregular chip; pixels outside become nodata
    block: str | None = None  # its cell (blocks.cell_keys): chips of one cell are fetched in blocks


class ChipResult(NamedTuple):
    identifier: str
    status: str  # done | failed | exhausted (retryable errors past the attempt limit) | unauthenticated
    #              | disk_full (its file could not be written: ``error`` is the path; the run stops)
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
    unreachable_since: float = 0.0  # time.time() since when the endpoint refuses connections (0: it does not)


class Exchange(NamedTuple):
    """What ``exchange`` returns: the chips finished since the last call, and the worker's load."""

    results: list[ChipResult]
    unfinished: int  # chips handed to this worker and not finished
    backing_off: int  # of those, waiting out a backoff (they do not use the worker's capacity)
    unreachable_since: float = 0.0  # time.time() since when the endpoint refuses connections (0: it does not)


class Placement(NamedTuple):
    """Where a configured worker runs: its process (to tell, after a crash, whether it is gone) and node."""

    pid: int
    host: str
    node: str
