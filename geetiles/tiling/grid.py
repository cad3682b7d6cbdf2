"""Compatibility grid: geetiles 0.1.7's chips, bit for bit, computed on arrays.

The original walks the UTM envelope of the AOI cell by cell and projects each centre on its own;
here every step is one pyproj or shapely call over all candidates. Its quirks (one zone for the whole
AOI, chip sides of m - 1 metres, margins and overlaps between neighbours) are kept on purpose: they
are part of the file names users already have. ``tiling=utm`` is the seamless alternative.

Bit for bit means the same IEEE operations in the same order as the original's per-chip code
(``cmds.build_grid`` and ``PartitionSet.__init__`` of 0.1.7), only applied to whole arrays:

- metres per degree are ``(x(lon + 0.001) - x(lon)) * 1000``, a product, not a division by 0.001;
- the half sides are ``((m - 1) / 2) / metres_per_degree``;
- each ring is (minx, miny) (minx, maxy) (maxx, maxy) (maxx, miny) (minx, miny), as the original
  built its ``Polygon``;
- ``area_km2`` is the GEOS shoelace of that ring projected to the UTM zone of the mean of the chip
  set's envelope ring (five vertices, the first counted twice), divided by 1e6.

pyproj transforms every point on its own, so transforming an array gives, element by element, the
floats the original got one point at a time.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import shapely

from geetiles.errors import UserInputError
from geetiles.original_utm import original_utm_epsg, utm_transformers
from geetiles.tiling.chips import Chips, check_candidate_count
from geetiles.tiling.ids import chip_ids
from geetiles.tiling.one_zone import fold_reason
from geetiles.tiling.select import lattice_intersects

log = logging.getLogger(__name__)

_STEP_DEG = 0.001
_STEP_INV = 1000  # the original multiplies the 0.001-degree difference by 1000


def grid_chips(aoi: shapely.Geometry, chip_size_m: float, max_chips: int) -> Chips:
    """Chips of the original ``make_grid``: lon/lat rectangles of about ``chip_size_m`` metres."""
    centroid = aoi.centroid
    epsg = original_utm_epsg(centroid.x, centroid.y)
    to_zone, to_lonlat = utm_transformers(epsg)

    # the original: envelope of the projected AOI; gridx = int(rangex // m)
    projected = shapely.transform(aoi, _projector(to_zone))
    minx, miny, maxx, maxy = shapely.bounds(projected)
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        raise UserInputError(why_no_chips(aoi, chip_size_m))
    m = chip_size_m
    nx, ny = int((maxx - minx) // m), int((maxy - miny) // m)
    check_candidate_count(nx * ny, max_chips)
    gx = np.repeat(np.arange(nx), ny)  # outer loop over x, inner over y: the file's row order
    gy = np.tile(np.arange(ny), nx)

    lon, lat = to_lonlat.transform(gx * m + minx, gy * m + miny)
    x0, y0 = to_zone.transform(lon, lat)
    x1, _ = to_zone.transform(lon + _STEP_DEG, lat)
    _, y2 = to_zone.transform(lon, lat + _STEP_DEG)
    half = (m - 1) / 2
    half_lon = half / ((x1 - x0) * _STEP_INV)
    half_lat = half / ((y2 - y0) * _STEP_INV)
    bounds = np.column_stack([lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat])

    keep = lattice_intersects(*(bounds[:, i].reshape(nx, ny) for i in range(4)), aoi).ravel()
    fold = fold_reason(aoi, projected, _projector(to_zone)) if keep.any() else None  # no chips: the stage says why
    if fold is not None:
        log.warning(
            "tiling=grid (0.1.7's) projects the whole AOI into one UTM zone (EPSG:%d, at its centroid), "
            "and %s; "
            "its chips will not follow the AOI: tiling=utm or tiling=majortom cut each zone on its own",
            epsg,
            fold,
        )
    return legacy_rectangles(bounds[keep])


def why_no_chips(aoi: shapely.Geometry, chip_size_m: float) -> str:
    """Why :func:`grid_chips` gives no chip for ``aoi``, and what to do instead (for a one-line error)."""
    centroid = aoi.centroid
    epsg = original_utm_epsg(centroid.x, centroid.y)
    to_zone, _ = utm_transformers(epsg)
    projected = shapely.transform(aoi, _projector(to_zone))
    whole = f"0.1.7's grid projects the whole AOI into one UTM zone (EPSG:{epsg}, at its centroid)"
    fold = fold_reason(aoi, projected, _projector(to_zone))
    if fold is not None:
        return (
            f"{whole}, and {fold}; use tiling=utm or tiling=majortom, which cut each zone on its own, or a smaller AOI"
        )
    minx, miny, maxx, maxy = shapely.bounds(projected)
    width, height = maxx - minx, maxy - miny
    if min(width, height) < chip_size_m:
        return (
            f"{whole} and fits whole chips into its envelope there, which is {width:,.0f} x {height:,.0f} m: "
            f"smaller than one {chip_size_m:g} m chip; use tiling.chip_size_m={math.floor(min(width, height)):g} "
            "or less, or tiling=utm, whose chips also cover an AOI's edges"
        )
    cells = int(width // chip_size_m) * int(height // chip_size_m)
    return (
        f"none of the {cells:,} chips of 0.1.7's grid (centred on a lattice from the corner of the AOI's envelope "
        f"in EPSG:{epsg}, 1 m apart) meets the AOI, which is too thin for them; use tiling=utm, whose chips cover "
        "the whole AOI, or a smaller tiling.chip_size_m"
    )


def legacy_rectangles(bounds: np.ndarray) -> Chips:
    """Lon/lat rectangles ``(minx, miny, maxx, maxy)`` as geetiles 0.1.7 stored them: its ring
    order, its ids, its ``area_km2``, written in its file layout."""
    bounds = np.asarray(bounds, dtype=float).reshape(-1, 4)
    return Chips(rectangle_polygons(bounds), chip_ids(bounds), original_area_km2(bounds), legacy=True)


def rectangle_polygons(bounds: np.ndarray) -> np.ndarray:
    """Polygons with the original's ring: (minx,miny) (minx,maxy) (maxx,maxy) (maxx,miny) (minx,miny)."""
    if len(bounds) == 0:
        return np.empty(0, dtype=object)
    minx, miny, maxx, maxy = bounds.T
    ring = np.stack(
        [np.column_stack([minx, minx, maxx, maxx, minx]), np.column_stack([miny, maxy, maxy, miny, miny])], axis=-1
    )
    return shapely.polygons(ring)


def original_area_km2(bounds: np.ndarray) -> np.ndarray:
    """``area_km2`` of rectangles exactly as 0.1.7's ``PartitionSet`` computed it.

    The zone is that of the mean of the set's envelope ring (five vertices as shapely lists them,
    the first counted twice); each chip ring is projected to it and measured by GEOS's shoelace
    (``Area::ofRingSigned``: x taken relative to the first vertex, terms summed in ring order).
    """
    if len(bounds) == 0:
        return np.empty(0)
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    envelope_ring = np.array([[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]])
    lon, lat = envelope_ring.mean(axis=0)
    to_zone, _ = utm_transformers(original_utm_epsg(float(lon), float(lat)))
    # the ring's four distinct vertices; the fifth closes it on the first
    x, y = to_zone.transform(bounds[:, [0, 0, 2, 2]], bounds[:, [1, 3, 3, 1]])
    xr = x - x[:, :1]
    signed = xr[:, 1] * (y[:, 0] - y[:, 2])
    signed = signed + xr[:, 2] * (y[:, 1] - y[:, 3])
    signed = signed + xr[:, 3] * (y[:, 2] - y[:, 0])
    return np.abs(signed / 2.0) / 1e6


def _projector(transformer):
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return project
