"""Which cells of a regular lattice intersect an area, without testing every cell against it.

A tiling's candidates form an (nx, ny) lattice. Blocks of cells that lie wholly inside the area
are kept, and blocks wholly outside are dropped, with one test each; only the blocks on the area's
border are tested cell by cell. The result is the same as testing every cell.
"""

from __future__ import annotations

import numpy as np
import shapely

BLOCK = 32


def lattice_intersects(
    minx: np.ndarray, miny: np.ndarray, maxx: np.ndarray, maxy: np.ndarray, area: shapely.Geometry, block: int = BLOCK
) -> np.ndarray:
    """Boolean (nx, ny) mask of the cells (given by their (nx, ny) bounds) that intersect ``area``."""
    nx, ny = minx.shape
    mask = np.zeros((nx, ny), dtype=bool)
    if nx == 0 or ny == 0:
        return mask
    shapely.prepare(area)
    starts_x, starts_y = np.arange(0, nx, block), np.arange(0, ny, block)
    block_bounds = [
        _reduce_blocks(values, starts_x, starts_y, ufunc)
        for values, ufunc in ((minx, np.minimum), (miny, np.minimum), (maxx, np.maximum), (maxy, np.maximum))
    ]
    boxes = shapely.box(*block_bounds)
    inside = shapely.contains_properly(area, boxes)
    border = shapely.intersects(area, boxes) & ~inside
    for bi, bj in zip(*np.nonzero(inside)):
        mask[starts_x[bi] : starts_x[bi] + block, starts_y[bj] : starts_y[bj] + block] = True
    cells_x, cells_y = [], []
    for bi, bj in zip(*np.nonzero(border)):
        gx, gy = np.meshgrid(
            np.arange(starts_x[bi], min(starts_x[bi] + block, nx)),
            np.arange(starts_y[bj], min(starts_y[bj] + block, ny)),
            indexing="ij",
        )
        cells_x.append(gx.ravel())
        cells_y.append(gy.ravel())
    if cells_x:
        ix, iy = np.concatenate(cells_x), np.concatenate(cells_y)
        cells = shapely.box(minx[ix, iy], miny[ix, iy], maxx[ix, iy], maxy[ix, iy])
        mask[ix, iy] = shapely.intersects(area, cells)
    return mask


def _reduce_blocks(values: np.ndarray, starts_x: np.ndarray, starts_y: np.ndarray, ufunc) -> np.ndarray:
    return ufunc.reduceat(ufunc.reduceat(values, starts_x, axis=0), starts_y, axis=1)
