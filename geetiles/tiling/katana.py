"""Random partitions (``tiling=random``): geetiles 0.1.7's recursive "katana" cut, seeded.

The AOI is projected to one UTM zone and cut across its longer side at 45-56 % of it, again and
again, until every piece's bounding box is at most ``max_size_m`` on each side; pieces are clipped
to the AOI. The original drew from numpy's global, unseeded generator, so every run gave a new
file; here the draws come from ``numpy.random.default_rng(seed)`` in a fixed depth-first order
(lower/left half first), so a config gives the same file byte for byte and another seed another
partition. Unlike the original, GeometryCollections (a cut along an edge of the AOI yields
polygons plus a line) are handled: only their polygonal parts are kept.

Also unlike the original, degenerate inputs are refused in one line before any cutting: an AOI the
one zone cannot hold (a world box collapses there to a line, which 0.1.7 cut into millions of
zero-width slivers), an AOI across the antimeridian (its envelope puts the zone on the far side of
the globe), and one that needs more than ``tiling.max_chips`` pieces by a lower bound on the count;
the cutting itself also stops there. Pieces thinner than a micrometre are left out, with a warning.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import shapely
from pyproj import Transformer

from geetiles.errors import UserInputError
from geetiles.regions.span import longitude_span
from geetiles.repair import polygonal_part
from geetiles.tiling.chips import Chips
from geetiles.tiling.ids import chip_ids
from geetiles.tiling.one_zone import antimeridian_fix, fold_reason
from geetiles.tiling.utm_zones import utm_crs_at

log = logging.getLogger(__name__)

MIN_THICKNESS_M = 1e-6  # pieces thinner than this on average are slivers (UTM coordinates round at ~1e-9 m)
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
    project = _projector(Transformer.from_crs("EPSG:4326", zone, always_xy=True))
    aoi_utm = _check_zone(aoi, shapely.transform(aoi, project), zone, project)
    at_least = piece_count_lower_bound(aoi_utm, max_size_m)
    if at_least > max_chips:
        raise UserInputError(
            f"tiling=random with max_size_m={max_size_m:g} cuts this AOI into at least {at_least:,} pieces (from its "
            f"area and extent in {zone.name}), more than tiling.max_chips={max_chips:,}; use a larger "
            "tiling.max_size_m "
            f"(about {_size_for(aoi_utm, max_chips):,.0f} m or more) or a smaller AOI, or raise tiling.max_chips"
        )

    pieces = katana(aoi_utm, max_size_m, np.random.default_rng(int(seed)), max_pieces=max_chips)
    pieces = _without_slivers(pieces)
    utm = np.empty(len(pieces), dtype=object)
    utm[:] = pieces
    lonlat = shapely.transform(utm, _projector(Transformer.from_crs(zone, "EPSG:4326", always_xy=True)))
    return Chips(lonlat, chip_ids(shapely.bounds(lonlat)), shapely.area(utm) / 1e6)


def katana(
    geometry: shapely.Geometry, max_size: float, rng, variance: float = RANDOM_VARIANCE, max_pieces: int | None = None
) -> list[shapely.Polygon]:
    """Cut a planar ``geometry`` into Polygons whose bounds are at most ``max_size`` a side.

    Depth-first with an explicit stack (no recursion limit), lower/left half first, one
    ``rng.random()`` per cut in that order: the order of the draws is what makes a seed reproducible.
    Pieces wholly inside the AOI are plain rectangles, cut arithmetically without any overlay (the
    result is the same, with no overlay to compute). More than ``max_pieces``
    pieces stop the cutting with a one-line error (the estimate before cutting is a lower bound).
    """
    leaves: list[shapely.Polygon | tuple[float, float, float, float]] = []
    # (piece, bounds, depth); piece None means the rectangle ``bounds`` lies wholly in the AOI
    stack: list[tuple[shapely.Geometry | None, tuple[float, float, float, float], int]] = [
        (geometry, geometry.bounds, 0)
    ]
    while stack:
        piece, bounds, depth = stack.pop()
        minx, miny, maxx, maxy = bounds
        width, height = maxx - minx, maxy - miny
        if max(width, height) <= max_size or depth >= MAX_DEPTH:
            leaves.extend([bounds] if piece is None else polygon_parts(piece))
            if max_pieces is not None and len(leaves) > max_pieces:
                raise UserInputError(
                    f"tiling=random stopped after cutting more than tiling.max_chips={max_pieces:,} pieces; use a "
                    f"larger tiling.max_size_m (now {max_size:g} m) or a smaller AOI, or raise tiling.max_chips"
                )
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
    if (
        len(parts) == 1
        and shapely.get_num_coordinates(parts[0]) == 5
        and abs(parts[0].area - rectangle.area) <= 1e-9 * rectangle.area
    ):
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


def piece_count_lower_bound(aoi_utm: shapely.Geometry, max_size: float) -> int:
    """The fewest pieces :func:`katana` can cut ``aoi_utm`` into, counted before cutting.

    Every piece lies in one polygon part (a Polygon's interior is connected) and its bounds are at
    most ``max_size`` a side. The pieces of a part cover it, so they number at least its area over
    ``max_size``², and their extents cover the part's extent, so at least its width (and its
    height) over ``max_size``. (Pieces kept at ``MAX_DEPTH`` whatever their size are cut 250 times,
    so their bounding boxes are below 0.556^250 of the AOI's: they change no count.)
    """
    parts = np.asarray(polygon_parts(aoi_utm), dtype=object)
    if len(parts) == 0:
        return 0
    bounds = shapely.bounds(parts)
    extent = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    per_part = np.maximum(np.ceil(shapely.area(parts) / max_size**2), np.ceil(extent / max_size))
    return int(min(per_part.sum(), 2.0**62))


def _size_for(aoi_utm: shapely.Geometry, max_pieces: int) -> float:
    """About the smallest max_size_m whose lower bound fits ``max_pieces`` (for the message)."""
    parts = polygon_parts(aoi_utm)
    bounds = shapely.bounds(np.asarray(parts, dtype=object))
    extent = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]).sum()
    return max(math.sqrt(sum(p.area for p in parts) / max_pieces), extent / max_pieces)


def _check_zone(aoi: shapely.Geometry, aoi_utm: shapely.Geometry, zone, project) -> shapely.Geometry:
    """``aoi_utm`` if the zone holds the AOI (made valid if projecting made it invalid), else a
    one-line refusal: the AOI crosses the antimeridian, or folds onto itself in the zone."""
    span = longitude_span(aoi)
    if span.crosses_antimeridian:
        raise UserInputError(
            f"tiling=random cuts the AOI in one UTM zone and cannot cut across the antimeridian (the AOI spans "
            f"{span.degrees:.4g}° of longitude, {span.west:.6g} eastwards to {span.east:.6g}); "
            f"{antimeridian_fix(aoi, span)}"
        )
    reason = fold_reason(aoi, aoi_utm, project)
    if reason is not None:
        raise UserInputError(
            f"tiling=random cuts the AOI in one UTM zone ({zone.name}, at the centre of its envelope), and {reason}; "
            "give a smaller AOI, or use tiling=utm or tiling=majortom, which cut each zone on its own"
        )
    if not shapely.is_valid(aoi_utm):
        log.warning(
            "tiling=random: projected into %s the AOI is invalid (%s); it is cut after shapely's make_valid",
            zone.name,
            shapely.is_valid_reason(aoi_utm),
        )
        aoi_utm = polygonal_part(shapely.make_valid(aoi_utm))
    return aoi_utm


def _without_slivers(pieces: list[shapely.Polygon]) -> list[shapely.Polygon]:
    """The pieces less a micrometre thick on average dropped: a cut that passes within that of an
    AOI vertex, or a hair-thin part of the AOI, gives a sliver no chip can be made of."""
    if not pieces:
        return pieces
    array = np.asarray(pieces, dtype=object)
    bounds = shapely.bounds(array)
    longest = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    thin = shapely.area(array) < MIN_THICKNESS_M * longest
    if not thin.any():
        return pieces
    log.warning(
        "tiling=random: %d of %d pieces are slivers less than %g m thick (an edge of the AOI within that of "
        "a cut); they are left out",
        int(thin.sum()),
        len(pieces),
        MIN_THICKNESS_M,
    )
    return array[~thin].tolist()


def _projector(transformer: Transformer):
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return project
