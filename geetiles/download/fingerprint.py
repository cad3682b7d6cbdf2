"""Fingerprints of what was asked for a chip, so a rerun skips only chips made by the same request."""

from __future__ import annotations

import hashlib
import struct

import numpy as np

from geetiles.fetching.grid import PixelGrid


def grid_fingerprint(grid: PixelGrid) -> str:
    """CRS, affine transform and size of a chip's pixel grid, as 16 hex digits."""
    packed = struct.pack("<6d2q", *grid.transform, grid.width, grid.height)
    return hashlib.blake2b(grid.crs.encode() + packed, digest_size=8).hexdigest()


def grid_fingerprints(grids, indices: np.ndarray) -> np.ndarray:
    """``grid_fingerprint`` of the grids at ``indices`` of a GridTable, without making PixelGrids."""
    out = np.empty(len(indices), dtype=object)
    crs_bytes = [name.encode() for name in grids.crs_names]
    for k, i in enumerate(indices.tolist()):
        packed = struct.pack("<6d2q", *grids.transforms[i].tolist(), int(grids.width[i]), int(grids.height[i]))
        out[k] = hashlib.blake2b(crs_bytes[grids.crs_index[i]] + packed, digest_size=8).hexdigest()
    return out
