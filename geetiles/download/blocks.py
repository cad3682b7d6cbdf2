"""Request coalescing: chips whose pixel grids are aligned are fetched as one block per request.

Chips of ``tiling=utm`` share a pixel grid within a zone (same CRS, pixel size and orientation,
origins whole pixels apart), so k x k neighbours can be asked as one grid and cut apart on the
client with the very same pixels: a request then buys k² chips instead of one.

The rule, in two halves:

- **Cells** (driver, :func:`cell_keys`): a chip's cell is a k x k square of its lattice (chips of the
  same CRS, pixel size, orientation, chip size and phase, i.e. origin modulo the chip size), with k as
  large as the block side (``download.coalesce``), Earth Engine's byte limit and ``MAX_CHIPS_PER_SIDE``
  allow. Cells never span zones (another CRS is another lattice). The job stream hands out the chips
  still to fetch cell by cell, so a worker receives each cell whole.
- **Blocks** (worker, :func:`bundle`): the chips of one cell that a worker holds are covered by the
  fewest greedy rectangles that contain exactly those chips (a full cell is one rectangle); each
  rectangle of two chips or more is one request. So a partly done cell (a resumed run, chips handed
  back by a dead worker) fetches only what is missing.

A chip is fetched alone when it has no lattice (rotated grid, origin not a whole number of pixels),
when its pixel centres are not exact in binary floating point (then a block's centres could differ
from the chip's own in the last bit: pixel size and origins must be multiples of 2^-24), or when a
chip is larger than a block may be.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from geetiles.errors import UserInputError
from geetiles.fetching.grid import PixelGrid

AUTO_SIDE = 1024  # px: about 1 M pixels a request; Earth Engine answers that well within its time limit
MAX_CHIPS_PER_SIDE = 16  # at most 256 chips a request: a lost worker or a failed block costs that many
_DYADIC = 2.0**24  # pixel sizes and origins on this binary fraction make block and chip centres equal
_EXACT_BELOW = 2.0**52 / _DYADIC  # beyond this a coordinate loses the fraction's bits


def coalesce_side(value, max_side: int = 32768) -> int | None:
    """The largest block side in pixels that ``download.coalesce`` allows; None when off.
    Raises UserInputError (one line) for anything else."""
    text = str(value).strip().lower()
    if text == "off":
        return None
    if text == "auto":
        return min(AUTO_SIDE, max_side)
    try:
        side = int(text)
    except ValueError:
        side = 0
    if side < 1 or str(side) != text:
        raise UserInputError(
            f"download.coalesce={value!r} is not auto, off or a block side in whole pixels (e.g. 1024)"
        )
    return min(side, max_side)


def chips_per_side(width: int, height: int, side: int, bytes_per_pixel: int, max_bytes: int) -> tuple[int, int]:
    """(kx, ky): chips across and down a full block of ``width`` x ``height`` px chips, within the
    side, the byte limit and MAX_CHIPS_PER_SIDE; (1, 1) or less means no block."""
    most_x = min(MAX_CHIPS_PER_SIDE, side // max(1, width))
    most_y = min(MAX_CHIPS_PER_SIDE, side // max(1, height))
    fit = max_bytes // max(1, width * height * bytes_per_pixel)  # chips a request may hold
    best = (0, 0)
    for kx in range(1, most_x + 1):  # the most chips, then the squarest block
        for ky in range(1, min(most_y, fit // kx) + 1):
            if (kx * ky, -abs(kx - ky)) > (best[0] * best[1], -abs(best[0] - best[1])):
                best = (kx, ky)
    return best


def cell_keys(grids, side: int | None, bytes_per_pixel: int, max_bytes: int) -> list[str | None]:
    """The cell of each grid of ``grids`` (a GridTable), or None for a chip fetched alone."""
    count = len(grids)
    if side is None or not count:
        return [None] * count
    a, b, c, d, e, f = (grids.transforms[:, i] for i in range(6))
    width, height = grids.width, grids.height
    with np.errstate(divide="ignore", invalid="ignore"):
        colf, rowf = c / a, f / e
    col, row = np.rint(colf), np.rint(rowf)
    ok = (b == 0) & (d == 0) & (a != 0) & (e != 0) & np.isfinite(colf) & np.isfinite(rowf)
    ok &= (col == colf) | (np.abs(colf - col) < 1e-6)
    for value in (a, c, f):  # exact binary centres: a block's pixel centres are the chip's own numbers
        ok &= (np.abs(value) < _EXACT_BELOW) & (np.floor(value * _DYADIC) == value * _DYADIC)
    keys: list[str | None] = [None] * count
    lattice: dict[tuple, tuple[int, int]] = {}
    for i in np.flatnonzero(ok).tolist():
        w, h = int(width[i]), int(height[i])
        kind = (int(grids.crs_index[i]), float(a[i]), float(e[i]), w, h)
        if kind not in lattice:
            lattice[kind] = chips_per_side(w, h, side, bytes_per_pixel, max_bytes)
        kx, ky = lattice[kind]
        if kx * ky < 2:
            continue
        x, y = int(col[i]), int(row[i])
        phase_x, phase_y = x % w, y % h
        cell_x, cell_y = (x - phase_x) // (kx * w), (y - phase_y) // (ky * h)
        keys[i] = f"{grids.crs_names[kind[0]]}|{kind[1]!r}|{kind[2]!r}|{w}x{h}|{phase_x},{phase_y}|{cell_x},{cell_y}"
    return keys


def cell_order(keys: Sequence[str | None]) -> list[int]:
    """Positions of ``keys`` with each cell's chips together (cells in order of their first chip;
    chips fetched alone stay where they are)."""
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key is not None and key not in first:
            first[key] = i
    return sorted(range(len(keys)), key=lambda i: (i if keys[i] is None else first[keys[i]], i))


class Block(NamedTuple):
    """One request for several chips: the block's grid, and each chip with its pixel offset in it."""

    grid: PixelGrid
    members: list[tuple[object, int, int]]  # (ChipJob, row, col)


def bundle(jobs: Sequence) -> list:
    """The units a worker fetches, one request each: a Block per rectangle of two or more chips of
    one cell, the others as they are (ChipJobs). Order follows the jobs'."""
    units: list = []
    cells: dict[str, list] = {}
    for job in jobs:
        key = getattr(job, "block", None)
        if key is None:
            units.append(job)
            continue
        if key not in cells:
            cells[key] = []
            units.append(cells[key])
        cells[key].append(job)
    out: list = []
    for unit in units:
        out.extend(_cell_blocks(unit) if isinstance(unit, list) else [unit])
    return out


def _cell_blocks(jobs: list) -> list:
    """One cell's chips as blocks of exactly those chips (greedy rectangles) and lone chips."""
    if len(jobs) == 1:
        return jobs
    first = jobs[0].grid
    a, _, c0, _, e, f0 = first.transform
    w, h = first.width, first.height
    at: dict[tuple[int, int], object] = {}
    alone = []
    for job in jobs:
        x, y = round((job.grid.transform[2] - c0) / a), round((job.grid.transform[5] - f0) / e)
        if job.grid.width != w or job.grid.height != h or x % w or y % h or (y // h, x // w) in at:
            alone.append(job)
        else:
            at[(y // h, x // w)] = job
    out = []
    for top, left, rows, cols in rectangles(set(at)):
        if rows * cols == 1:
            alone.append(at[(top, left)])
            continue
        origin = at[(top, left)].grid
        grid = PixelGrid(first.crs, origin.transform, cols * w, rows * h)
        members = []
        for r in range(rows):
            for q in range(cols):
                job = at[(top + r, left + q)]
                if grid.window(r * h, q * w, h, w).transform == job.grid.transform:
                    members.append((job, r * h, q * w))
                else:  # not the very same numbers: fetched alone, so its file is what a chip request gives
                    alone.append(job)
        out.append(Block(grid, members) if len(members) > 1 else members[0][0] if members else None)
    return [unit for unit in out if unit is not None] + alone


def rectangles(cells: set[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """(top, left, rows, columns) rectangles that cover ``cells`` (row, column) exactly, greedily:
    from the first uncovered cell in reading order, as wide as the run of cells, then as tall as
    whole rows of that run allow."""
    left_over = set(cells)
    out = []
    for top, left in sorted(cells):
        if (top, left) not in left_over:
            continue
        cols = 1
        while (top, left + cols) in left_over:
            cols += 1
        rows = 1
        while all((top + rows, left + q) in left_over for q in range(cols)):
            rows += 1
        for r in range(rows):
            for q in range(cols):
                left_over.discard((top + r, left + q))
        out.append((top, left, rows, cols))
    return out


def chips_in(unit) -> int:
    """Chips a unit of work stands for (a Block's members, or one)."""
    return len(unit.members) if isinstance(unit, Block) else 1


def jobs_in(unit) -> list:
    return [job for job, _, _ in unit.members] if isinstance(unit, Block) else [unit]
