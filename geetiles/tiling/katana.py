"""Random partitions (``tiling=random``): geetiles 0.1.7's recursive "katana" cut, seeded.

The AOI is projected to one UTM zone and cut across its longer side at 45-56 % of it, again and
again, until every piece's bounding box is at most ``max_size_m`` on each side; pieces are clipped
to the AOI. The original drew from numpy's global, unseeded generator, so every run gave a new
file; here the draws come from ``numpy.random.default_rng(seed)`` in a fixed depth-first order
(lower/left half first), so a config gives the same file byte for byte and another seed another
partition. Unlike the original, GeometryCollections (a cut along an edge of the AOI yields
polygons plus a line) are handled: only their polygonal parts are kept.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import Transformer

from geetiles.errors import UserInputError
from geetiles.tiling.chips import Chips
from geetiles.tiling.ids import chip_ids
from geetiles.tiling.utm_zones import utm_crs_at

RANDOM_VARIANCE = 0.1  # the original's hard-coded spread: cuts at 45-56 % of the longer side
MAX_DEPTH = 250  # the original's recursion limit; pieces this deep are kept whatever their size
_POLYGON = 3
_COLLECTIONS = (4, 5, 6, 7)  # MultiPoint, MultiLineString, MultiPolygon, GeometryCollection


def katana_chips(aoi: shapely.Geometry, max_size_m: float, seed: int, max_chips: int = 20_000_000) -> Chips:
    """Random pieces of ``aoi`` (lon/lat) whose UTM bounding boxes are at most ``max_size_m`` a side.

    Rows are in cutting order. Areas are measured in the UTM zone used for cutting; the pieces are
    returned in EPSG:4326 with their vertices reprojected as they are (no densifying, as the
    original), so interior pieces are UTM rectangles seen in lon/lat: slightly rotated quadrilaterals.
    """
    if not max_size_m > 0:
        raise UserInputError(f"tiling.max_size_m={max_size_m:g} must be a positive number of metres")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserInputError(f"tiling.seed={seed!r} must be a non-negative integer")
    if aoi.is_empty:
        return Chips(np.empty(0, dtype=object), [], np.empty(0))
    zone = utm_crs_at(*_envelope_centre(aoi))
    aoi_utm = shapely.transform(aoi, _projector(Transformer.from_crs("EPSG:4326", zone, always_xy=True)))
    _check_piece_count(aoi_utm.area, max_size_m, max_chips)

    pieces = katana(aoi_utm, max_size_m, np.random.default_rng(int(seed)))
    utm = np.empty(len(pieces), dtype=object)
    utm[:] = pieces
    lonlat = shapely.transform(utm, _projector(Transformer.from_crs(zone, "EPSG:4326", always_xy=True)))
    return Chips(lonlat, chip_ids(shapely.bounds(lonlat)), shapely.area(utm) / 1e6)


def katana(geometry: shapely.Geometry, max_size: float, rng, variance: float = RANDOM_VARIANCE) -> list[shapely.Polygon]:
    """Cut a planar ``geometry`` into Polygons whose bounds are at most ``max_size`` a side.

    Depth-first with an explicit stack (no recursion limit), lower/left half first, one
    ``rng.random()`` per cut in that order: the order of the draws is what makes a seed reproducible.
    Pieces wholly inside the AOI are plain rectangles, cut arithmetically without any overlay (the
    result is the same; it is 2-3 times faster for a typical country).
    """
    leaves: list[shapely.Polygon | tuple[float, float, float, float]] = []
    # (piece, bounds, depth); piece None means the rectangle ``bounds`` lies wholly in the AOI
    stack: list[tuple[shapely.Geometry | None, tuple[float, float, float, float], int]] = [
        (geometry, geometry.bounds, 0)]
    while stack:
        piece, bounds, depth = stack.pop()
        minx, miny, maxx, maxy = bounds
        width, height = maxx - minx, maxy - miny
        if max(width, height) <= max_size or depth >= MAX_DEPTH:
            leaves.extend([bounds] if piece is None else polygon_parts(piece))
            continue
        factor = 2 * (1 + (rng.random() - 0.5) * 2 * variance)
        if height >= width:
            cut = miny + height / factor
            halves = ((minx, miny, maxx, cut), (minx, cut, maxx, maxy))
        else:
            cut = minx + width / factor
            halves = ((minx, miny, cut, maxy), (cut, miny, maxx, maxy))
        children = [child for half in halves for child in _clip(piece, half)]
        stack.extend((child, child_bounds, depth + 1) for child, child_bounds in reversed(children))
    return [shapely.box(*leaf) if isinstance(leaf, tuple) else leaf for leaf in leaves]


def _clip(piece: shapely.Geometry | None, half: tuple[float, float, float, float]):
    """(part, bounds) of ``piece`` within the rectangle ``half``; part None when it is all of ``half``."""
    if piece is None:
        return [(None, half)]
    rectangle = shapely.box(*half)
    parts = polygon_parts(shapely.intersection(piece, rectangle))
    if len(parts) == 1 and shapely.get_num_coordinates(parts[0]) == 5 and \
            abs(parts[0].area - rectangle.area) <= 1e-9 * rectangle.area:
        return [(None, half)]
    return [(part, part.bounds) for part in parts]


def polygon_parts(geometry: shapely.Geometry) -> list[shapely.Polygon]:
    """The non-empty Polygons in ``geometry``; lines and points (cuts along an edge) are dropped."""
    if shapely.get_type_id(geometry) == _POLYGON:
        return [geometry] if geometry.area > 0 else []
    parts = shapely.get_parts(geometry)
    while np.isin(shapely.get_type_id(parts), _COLLECTIONS).any():
        parts = shapely.get_parts(parts)
    keep = (shapely.get_type_id(parts) == _POLYGON) & (shapely.area(parts) > 0)
    return parts[keep].tolist()


def _envelope_centre(aoi: shapely.Geometry) -> tuple[float, float]:
    """The original's "centre": the mean of the envelope ring's 5 vertices (first corner twice).

    It only picks the UTM zone; keeping it makes the zone agree with the original's near zone edges.
    """
    minx, miny, maxx, maxy = aoi.bounds
    return (3 * minx + 2 * maxx) / 5, (3 * miny + 2 * maxy) / 5


def _check_piece_count(area_m2: float, max_size_m: float, max_chips: int) -> None:
    """Refuse, before cutting, an AOI that needs more pieces than fit (each piece is <= max_size_m²)."""
    at_least = math.ceil(area_m2 / max_size_m**2)
    if at_least > max_chips:
        raise UserInputError(
            f"tiling=random with max_size_m={max_size_m:g} cuts this AOI into at least {at_least:,} pieces, "
            f"more than tiling.max_chips={max_chips:,}; use a larger tiling.max_size_m"
        )


def _projector(transformer: Transformer):
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return project
