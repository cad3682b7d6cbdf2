"""Pixel grids: the exact CRS, affine transform and size requested for every chip.

Compatibility (lon/lat) chips are requested in EPSG:4326 over their bounds, either with
``pixels_lonlat = [W, H]`` exactly or with ``round(side / meters_per_pixel)`` pixels per side, the
side measured geodesically across the chip's middle. (geetiles 0.1.7 asked Earth Engine for a
``scale`` and got 104 x 104 pixels for a 1000 m chip at 10 m; here the grid is explicit: 100 x 100.)
UTM chips are requested in their zone's CRS with square pixels, so a chip's pixels tile the zone.
"""

from __future__ import annotations

import numpy as np
import shapely

from geetiles.errors import UserInputError
from geetiles.fetching.grid import PixelGrid

_FULL_COVER = 0.999  # below this share of its envelope a chip is irregular: pixels outside are nodata


class GridTable:
    """The pixel grids of many chips, as arrays (about 64 bytes a chip, against ~400 for a list of
    PixelGrid objects: a million chips must fit in the driver); a PixelGrid is made when asked for."""

    def __init__(self, crs_names: list[str], crs_index: np.ndarray, transforms: np.ndarray, width, height) -> None:
        self.crs_names = list(crs_names)
        self.crs_index = np.asarray(crs_index, dtype=np.int32)
        self.transforms = np.asarray(transforms, dtype=np.float64).reshape(-1, 6)
        self.width = np.asarray(width, dtype=np.int64)
        self.height = np.asarray(height, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.width)

    def __getitem__(self, i: int) -> PixelGrid:
        return PixelGrid(
            self.crs_names[self.crs_index[i]],
            tuple(float(v) for v in self.transforms[i]),
            int(self.width[i]),
            int(self.height[i]),
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def subset(self, rows: np.ndarray) -> GridTable:
        """The grids at positions ``rows``."""
        return GridTable(
            self.crs_names, self.crs_index[rows], self.transforms[rows], self.width[rows], self.height[rows]
        )


def plan_grids(chips, pixels_lonlat, meters_per_pixel) -> GridTable:
    """One pixel grid per row of ``chips`` (EPSG:4326 geometries): a GeoDataFrame, or anything with
    ``columns``, ``geometry`` and columns by name (chip_table's ChipColumns)."""
    if (pixels_lonlat is None) == (meters_per_pixel is None):
        raise UserInputError("set exactly one of source.pixels_lonlat=[W,H] or source.meters_per_pixel=M")
    if pixels_lonlat is not None and (len(pixels_lonlat) != 2 or min(pixels_lonlat) < 1):
        raise UserInputError(
            f"source.pixels_lonlat={list(pixels_lonlat)} must be two positive integers [width, height]"
        )
    if meters_per_pixel is not None and not meters_per_pixel > 0:
        raise UserInputError(f"source.meters_per_pixel={meters_per_pixel} must be a positive number of metres")
    if _is_utm(chips):
        return _utm_grids(chips, pixels_lonlat, meters_per_pixel)
    return _lonlat_grids(chips, pixels_lonlat, meters_per_pixel)


def _is_utm(chips) -> bool:
    return "epsg" in chips.columns and "utm_x" in chips.columns and "utm_y" in chips.columns


def _lonlat_grids(chips, pixels_lonlat, meters_per_pixel) -> GridTable:
    bounds = shapely.bounds(np.asarray(chips.geometry))
    minx, miny, maxx, maxy = bounds.T
    if pixels_lonlat is not None:
        width = np.full(len(chips), int(pixels_lonlat[0]))
        height = np.full(len(chips), int(pixels_lonlat[1]))
    else:
        from pyproj import Geod

        geod = Geod(ellps="WGS84")
        midx, midy = (minx + maxx) / 2, (miny + maxy) / 2
        _, _, width_m = geod.inv(minx, midy, maxx, midy)
        _, _, height_m = geod.inv(midx, miny, midx, maxy)
        width = np.maximum(1, np.round(width_m / meters_per_pixel)).astype(int)
        height = np.maximum(1, np.round(height_m / meters_per_pixel)).astype(int)
    scale_x = (maxx - minx) / width
    scale_y = -(maxy - miny) / height
    zeros = np.zeros(len(chips))
    transforms = np.column_stack([scale_x, zeros, minx, zeros, scale_y, maxy])
    return GridTable(["EPSG:4326"], np.zeros(len(chips), np.int32), transforms, width, height)


def _utm_grids(chips, pixels_lonlat, meters_per_pixel) -> GridTable:
    size = np.round(np.sqrt(np.asarray(chips["area_km2"], dtype=float) * 1e6), 6)  # utm chips are exact squares
    if pixels_lonlat is not None:
        width = np.full(len(chips), int(pixels_lonlat[0]))
        height = np.full(len(chips), int(pixels_lonlat[1]))
    else:
        width = height = np.maximum(1, np.round(size / meters_per_pixel)).astype(int)
    x0 = np.asarray(chips["utm_x"], dtype=float)
    y1 = np.asarray(chips["utm_y"], dtype=float) + size
    epsg = np.asarray(chips["epsg"], dtype=np.int64)
    codes, crs_index = np.unique(epsg, return_inverse=True)
    zeros = np.zeros(len(chips))
    transforms = np.column_stack([size / width, zeros, x0, zeros, -size / height, y1])
    return GridTable([f"EPSG:{int(c)}" for c in codes], crs_index, transforms, width, height)


def irregular(chips) -> np.ndarray:
    """True for lon/lat chips that do not fill their envelope (communes, random pieces): pixels
    outside them are set to nodata. UTM chips are exact squares in their own CRS: never."""
    if _is_utm(chips):
        return np.zeros(len(chips), dtype=bool)
    geometry = np.asarray(chips.geometry)
    return shapely.area(geometry) < _FULL_COVER * shapely.area(shapely.envelope(geometry))
