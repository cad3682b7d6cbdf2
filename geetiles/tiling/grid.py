"""Compatibility grid: geetiles 0.1.7's chips, bit for bit, computed on arrays.

The original walks the UTM envelope of the AOI cell by cell and projects each centre on its own;
here every step is one pyproj or shapely call over all candidates. Its quirks (one zone for the whole
AOI, chip sides of m - 1 metres, margins and overlaps between neighbours) are kept on purpose: they
are part of the file names users already have. ``tiling=utm`` is the seamless alternative.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer

from geetiles.tiling.chips import Chips, check_candidate_count
from geetiles.tiling.select import lattice_intersects
from geetiles.tiling.utm_zones import utm_crs_at

_STEP_DEG = 0.001


def grid_chips(aoi: shapely.Geometry, chip_size_m: float, max_chips: int) -> Chips:
    """Chips of the original ``make_grid``: lon/lat rectangles of about ``chip_size_m`` metres."""
    centroid = aoi.centroid
    zone = utm_crs_at(centroid.x, centroid.y)
    to_zone = Transformer.from_crs("EPSG:4326", zone, always_xy=True)
    to_lonlat = Transformer.from_crs(zone, "EPSG:4326", always_xy=True)

    minx, miny, maxx, maxy = shapely.transform(aoi, _projector(to_zone)).bounds
    m = chip_size_m
    nx, ny = int(np.floor((maxx - minx) / m)), int(np.floor((maxy - miny) / m))
    check_candidate_count(nx * ny, max_chips)
    gx = np.repeat(np.arange(nx), ny)  # outer loop over x, inner over y: the file's row order
    gy = np.tile(np.arange(ny), nx)

    lon, lat = to_lonlat.transform(minx + gx * m, miny + gy * m)
    x0, y0 = to_zone.transform(lon, lat)
    x1, _ = to_zone.transform(lon + _STEP_DEG, lat)
    _, y2 = to_zone.transform(lon, lat + _STEP_DEG)
    half_lon = ((m - 1) / 2) / ((x1 - x0) / _STEP_DEG)
    half_lat = ((m - 1) / 2) / ((y2 - y0) / _STEP_DEG)
    bounds = np.column_stack([lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat])

    keep = lattice_intersects(*(bounds[:, i].reshape(nx, ny) for i in range(4)), aoi).ravel()
    return Chips.from_lonlat_bounds(bounds[keep])


def _projector(transformer: Transformer):
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return project
