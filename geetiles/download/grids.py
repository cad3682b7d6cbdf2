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


def plan_grids(chips, pixels_lonlat, meters_per_pixel) -> list[PixelGrid]:
    """One PixelGrid per row of the tiles frame ``chips`` (EPSG:4326 geometries)."""
    if (pixels_lonlat is None) == (meters_per_pixel is None):
        raise UserInputError("set exactly one of source.pixels_lonlat=[W,H] or source.meters_per_pixel=M")
    if pixels_lonlat is not None and (len(pixels_lonlat) != 2 or min(pixels_lonlat) < 1):
        raise UserInputError(f"source.pixels_lonlat={list(pixels_lonlat)} must be two positive integers [width, height]")
    if meters_per_pixel is not None and not meters_per_pixel > 0:
        raise UserInputError(f"source.meters_per_pixel={meters_per_pixel} must be a positive number of metres")
    if _is_utm(chips):
        return _utm_grids(chips, pixels_lonlat, meters_per_pixel)
    return _lonlat_grids(chips, pixels_lonlat, meters_per_pixel)


def _is_utm(chips) -> bool:
    return "epsg" in chips.columns and "utm_x" in chips.columns and "utm_y" in chips.columns


def _lonlat_grids(chips, pixels_lonlat, meters_per_pixel) -> list[PixelGrid]:
    bounds = shapely.bounds(chips.geometry.values)
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
    return [
        PixelGrid("EPSG:4326", (float(sx), 0.0, float(x0), 0.0, float(sy), float(y1)), int(w), int(h))
        for sx, x0, sy, y1, w, h in zip(scale_x, minx, scale_y, maxy, width, height)
    ]


def _utm_grids(chips, pixels_lonlat, meters_per_pixel) -> list[PixelGrid]:
    size = np.round(np.sqrt(chips["area_km2"].to_numpy(float) * 1e6), 6)  # utm chips are exact squares
    if pixels_lonlat is not None:
        width = np.full(len(chips), int(pixels_lonlat[0]))
        height = np.full(len(chips), int(pixels_lonlat[1]))
    else:
        width = height = np.maximum(1, np.round(size / meters_per_pixel)).astype(int)
    x0 = chips["utm_x"].to_numpy(float)
    y1 = chips["utm_y"].to_numpy(float) + size
    return [
        PixelGrid(f"EPSG:{int(epsg)}", (float(s / w), 0.0, float(x), 0.0, float(-s / h), float(y)), int(w), int(h))
        for epsg, s, x, y, w, h in zip(chips["epsg"], size, x0, y1, width, height)
    ]


def irregular(chips) -> np.ndarray:
    """True for lon/lat chips that do not fill their envelope (communes, random pieces): pixels
    outside them are set to nodata. UTM chips are exact squares in their own CRS: never."""
    if _is_utm(chips):
        return np.zeros(len(chips), dtype=bool)
    geometry = chips.geometry.values
    return shapely.area(geometry) < _FULL_COVER * shapely.area(shapely.envelope(geometry))
