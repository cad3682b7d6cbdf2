"""Painting chips onto a strip of the mosaic: each mosaic pixel takes the chip pixel under its centre
(nearest neighbour, GDAL's rule), band by band, except where the chip's value is the chip's own nodata
(what is under it then shows). A chip whose pixels fall on the mosaic's grid is copied exactly."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from geetiles.tiff import TiffHeader, UnreadableChip, read_pixels
from geetiles.tools.mosaic.grid import Grid
from geetiles.tools.mosaic.options import BLOCK


def paint(view: np.ndarray, block: np.ndarray, nodata: float | None) -> None:
    """``view`` takes ``block``'s values, band by band, except where ``block`` is ``nodata``."""
    if nodata is None:
        view[...] = block
    elif math.isnan(nodata):
        if block.dtype.kind == "f":
            np.copyto(view, block, where=~np.isnan(block), casting="unsafe")
        else:
            view[...] = block
    else:
        if block.dtype.kind in "iu":
            info = np.iinfo(block.dtype)
            if not (float(nodata).is_integer() and info.min <= nodata <= info.max):
                view[...] = block
                return
        np.copyto(view, block, where=block != block.dtype.type(nodata), casting="unsafe")


def sample_indices(
    start: float, step: float, count: int, origin: float, pixel: float, limit: int, lo: int, hi: int
) -> tuple[int, np.ndarray]:
    """The mosaic cells in [lo, hi) whose centres fall in a chip along one axis, and the chip pixel
    under each centre (nearest-neighbour, as GDAL samples): the chip spans ``start`` to ``start +
    pixel * limit`` in units where the mosaic's cell ``i`` has its centre at ``origin + (i + 0.5) *
    step``. Returns (first cell, chip pixel per cell)."""
    first = max(lo, math.ceil(round((start - origin) / step - 0.5, 9)))
    last = min(hi, math.ceil(round((start + pixel * limit - origin) / step - 0.5, 9)))
    if last <= first:
        return first, np.zeros(0, dtype=np.intp)
    centres = origin + (np.arange(first, last) + 0.5) * step
    return first, np.clip(np.floor((centres - start) / pixel).astype(np.intp), 0, limit - 1)


def paste_chip(out: np.ndarray, row0: int, grid: Grid, header: TiffHeader, pixels: np.ndarray) -> None:
    """Paint one chip (already in the mosaic's CRS) over the strip ``out`` that starts at ``row0``."""
    x0, dx, _, y0, _, dy = header.transform
    col, cols = sample_indices(x0, grid.dx, header.width, grid.x0, dx, header.width, 0, grid.width)
    # rows counted downwards: a chip row's top is y0 + dy * r (dy < 0), a mosaic row's centre y1 - (i + .5) * dy
    row, rows = sample_indices(-y0, grid.dy, header.height, -grid.y1, -dy, header.height, row0, row0 + out.shape[1])
    if not len(cols) or not len(rows):
        return
    block = pixels.take(rows, axis=1).take(cols, axis=2)  # one axis at a time, no outer fancy index
    paint(out[:, row - row0 : row - row0 + len(rows), col : col + len(cols)], block, header.nodata)


def chip_pixels(header: TiffHeader, channels: Sequence[int]) -> np.ndarray:
    """The chosen bands of a chip, (bands, height, width); :class:`UnreadableChip` when it cannot be
    decoded, or no longer has the size its header said."""
    pixels = read_pixels(header.path, channels)
    if pixels.shape[1:] != (header.height, header.width):
        raise UnreadableChip(
            f"changed since its header was read ({pixels.shape[2]} x {pixels.shape[1]} pixels, "
            f"not {header.width} x {header.height})"
        )
    return pixels


def strip_rows(width: int, bands: int, dtype: str, budget: int = 256 << 20) -> int:
    """Rows painted at once: whole tiles, about ``budget`` bytes."""
    per_row = max(1, width * bands * np.dtype(dtype).itemsize)
    return max(BLOCK, (budget // per_row) // BLOCK * BLOCK)
