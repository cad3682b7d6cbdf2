"""Request sizing: Earth Engine refuses requests above a byte or side limit; split them first."""

from __future__ import annotations

import math
import re

from geetiles.fetching.grid import PixelGrid

SIZE_LIMIT_MESSAGE = re.compile(r"Total request size \(\d+ bytes\) must be less than or equal to \d+ bytes")


def bytes_per_pixel(band_itemsizes: list[int]) -> int:
    """Earth Engine counts every band's bytes plus one mask byte per band."""
    return sum(size + 1 for size in band_itemsizes)


def request_bytes(grid: PixelGrid, band_itemsizes: list[int]) -> int:
    return grid.width * grid.height * bytes_per_pixel(band_itemsizes)


def split(
    grid: PixelGrid, band_itemsizes: list[int], max_bytes: int, max_side: int
) -> list[tuple[int, int, PixelGrid]]:
    """(row, col, sub-grid) windows covering ``grid``, each within both limits; one if it fits."""
    per_pixel = bytes_per_pixel(band_itemsizes)
    max_pixels = max(1, max_bytes // per_pixel)
    if grid.width <= max_side and grid.height <= max_side and grid.width * grid.height <= max_pixels:
        return [(0, 0, grid)]
    tile_w = min(grid.width, max_side)
    tile_h = min(grid.height, max_side, max(1, max_pixels // tile_w))
    if tile_h * tile_w > max_pixels:
        tile_w = max(1, max_pixels // tile_h)
    # balance tiles so the last row/column is not a sliver
    cols, rows = math.ceil(grid.width / tile_w), math.ceil(grid.height / tile_h)
    tile_w, tile_h = math.ceil(grid.width / cols), math.ceil(grid.height / rows)
    return [
        (row, col, grid.window(row, col, min(tile_h, grid.height - row), min(tile_w, grid.width - col)))
        for row in range(0, grid.height, tile_h)
        for col in range(0, grid.width, tile_w)
    ]


def halve(grid: PixelGrid) -> list[tuple[int, int, PixelGrid]]:
    """Split along the longer side, for when the server says a request is too large anyway."""
    if grid.width >= grid.height and grid.width > 1:
        left = grid.width // 2
        return [
            (0, 0, grid.window(0, 0, grid.height, left)),
            (0, left, grid.window(0, left, grid.height, grid.width - left)),
        ]
    if grid.height > 1:
        top = grid.height // 2
        return [
            (0, 0, grid.window(0, 0, top, grid.width)),
            (top, 0, grid.window(top, 0, grid.height - top, grid.width)),
        ]
    return [(0, 0, grid)]
