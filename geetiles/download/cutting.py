"""Fetching a block (several aligned chips in one request) and cutting it into its chips.

Each chip's sub-array goes to the very writer a chip fetched alone goes to (``DownloadWorker.write``),
with the chip's own grid: mask, GeoTIFF encoding and journal row are those of a chip-by-chip run,
so a coalesced run writes the same bytes (tests/download/test_cutting.py compares them).

Failures: a block the server refuses for its size is halved by the fetcher itself (Earth Engine's
``Fetcher`` splits any request refused for its size and stitches the answers); a block whose fetch
still fails (retries exhausted, a deterministic error, anything else) falls back to one request per
chip, so each chip succeeds or fails on its own and is reported per chip, as without coalescing.
Refused credentials are not the block's fault: every chip goes back to the driver, which refreshes
them and hands the chips out again.

The block's requests and retries are counted on its first chip (the others count none), so the
run's request total is the number of requests sent.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from geetiles.download.blocks import Block
from geetiles.download.messages import ChipJob, ChipResult
from geetiles.fetching.grid import Pixels
from geetiles.fetching.outcome import AuthenticationError, Tally

log = logging.getLogger("geetiles.download")


async def fetch_block(worker, block: Block, tally: Tally) -> list[tuple[ChipJob, ChipResult]]:
    """(chip, result) for every chip of ``block``: one request, or one per chip if the block fails."""
    try:
        return await _fetch_block(worker, block, tally)
    finally:
        if tally.last_error:
            worker.last_error = tally.last_error


async def _fetch_block(worker, block: Block, tally: Tally) -> list[tuple[ChipJob, ChipResult]]:
    try:
        pixels = await worker.fetcher.fetch(block.grid, tally)
    except AuthenticationError as error:
        return [
            (job, _counted(ChipResult(job.identifier, "unauthenticated", 0, 0, 0, "", str(error), None), tally, i))
            for i, (job, _, _) in enumerate(block.members)
        ]
    except asyncio.CancelledError:
        raise
    except Exception as error:  # the block keeps failing: each chip on its own request
        log.info(
            "a block of %d chips failed (%s: %s); fetching them one by one",
            len(block.members),
            type(error).__name__,
            " ".join(str(error).split())[:160],
        )
        return await _one_by_one(worker, block, tally)
    # in a thread: encoding and writing a block's chips (compression and I/O release the GIL) must not
    # hold the worker's event loop, which reads the other blocks' answers and talks to the driver
    tally.in_request = True  # a hand-over leaves it be: its chips are being written
    try:
        return await asyncio.to_thread(_write_all, worker, block, pixels, tally)
    finally:
        tally.in_request = False


def _write_all(worker, block: Block, pixels: Pixels, tally: Tally) -> list[tuple[ChipJob, ChipResult]]:
    return [
        (job, _counted(worker.write(job, cut(pixels, row, col, job), Tally()), tally, i))
        for i, (job, row, col) in enumerate(block.members)
    ]


def cut(pixels: Pixels, row: int, col: int, job: ChipJob) -> Pixels:
    """The chip's own pixels out of the block's, contiguous (as a chip's own answer is)."""
    height, width = job.grid.height, job.grid.width
    return Pixels(np.ascontiguousarray(pixels.array[:, row : row + height, col : col + width]), pixels.band_names)


async def _one_by_one(worker, block: Block, tally: Tally) -> list[tuple[ChipJob, ChipResult]]:
    jobs = [job for job, _, _ in block.members]
    results = await asyncio.gather(*(worker._one(job, Tally()) for job in jobs))
    return [(job, _counted(result, tally, i)) for i, (job, result) in enumerate(zip(jobs, results))]


def _counted(result: ChipResult, tally: Tally, position: int) -> ChipResult:
    """The block's own requests and retries go on its first chip."""
    if position:
        return result
    return result._replace(requests=result.requests + tally.requests, retries=result.retries + tally.retries)
