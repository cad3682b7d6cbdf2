"""Invalid polygons (self-intersecting rings, bow ties) made valid, and said so.

Overlays on an invalid polygon fail (a GEOS TopologyException) or give wrong areas, so an AOI or a
unit that is invalid is repaired with shapely's ``make_valid`` (which keeps every lobe of a bow tie,
where ``buffer(0)`` drops half of it) and its polygonal part kept. A repair can change what the user
meant, so it is never silent: one warning says what was invalid (``shapely.is_valid_reason``), that it
was repaired, and the area before and after when it changed by more than ``AREA_CHANGE``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import shapely

log = logging.getLogger(__name__)

AREA_CHANGE = 0.01  # a relative change of area worth reporting
SHOWN = 3  # invalid geometries named in one warning


def repair_polygons(
    geometries, what: str, labels: Sequence[str] | None = None, nouns: tuple[str, str] = ("geometry", "geometries")
) -> np.ndarray:
    """``geometries`` with each invalid one replaced by the polygonal part of its ``make_valid``
    (possibly empty); valid ones are returned as they are (the same objects). ``what`` names the
    geometries for the warning (e.g. ``aoi.wkt_file='area.wkt'``), ``labels`` each one, ``nouns`` one and many."""
    geometries = np.asarray(geometries, dtype=object).copy()
    present = ~shapely.is_missing(geometries)
    invalid = np.flatnonzero(present & ~shapely.is_valid(np.where(present, geometries, None)))
    if len(invalid) == 0:
        return geometries
    before = geometries[invalid]
    after = np.array([polygonal_part(shapely.make_valid(g)) for g in before], dtype=object)
    geometries[invalid] = after
    if len(geometries) == 1:
        count = f"the {nouns[0]} was"
    else:
        count = (
            f"{len(invalid):,} of {len(geometries):,} {nouns[0] if len(geometries) == 1 else nouns[1]} "
            f"{'was' if len(invalid) == 1 else 'were'}"
        )
    _warn(what, count, invalid, before, after, labels)
    return geometries


def polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry:
    """The Polygons and MultiPolygons in ``geometry``, united (lines and points of a repair dropped)."""
    if shapely.get_type_id(geometry) in (3, 6):
        return geometry
    parts = shapely.get_parts(geometry)
    while np.isin(shapely.get_type_id(parts), (4, 5, 6, 7)).any():
        parts = shapely.get_parts(parts)
    polygons = parts[shapely.get_type_id(parts) == 3]
    return shapely.union_all(polygons) if len(polygons) else shapely.Polygon()


def area_km2(geometry: shapely.Geometry) -> float:
    """Area on the WGS 84 ellipsoid of a lon/lat geometry as its rings stand (an invalid ring
    measures what its shoelace gives: a bow tie's lobes cancel)."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")

    def ring_m2(ring) -> float:
        lon, lat = np.asarray(ring.coords).T
        return abs(geod.polygon_area_perimeter(lon, lat)[0])

    total = 0.0
    for part in shapely.get_parts(polygonal_part(geometry)):
        total += ring_m2(part.exterior) - sum(ring_m2(hole) for hole in part.interiors)
    return total / 1e6


def _warn(what: str, count: str, invalid: np.ndarray, before: np.ndarray, after: np.ndarray, labels) -> None:
    notes = []
    for index, old, new in list(zip(invalid, before, after))[:SHOWN]:
        name = f"{labels[index]}: " if labels is not None else ""
        note = f"{name}{shapely.is_valid_reason(old)}"
        old_km2, new_km2 = area_km2(old), area_km2(new)
        if abs(new_km2 - old_km2) > AREA_CHANGE * max(old_km2, new_km2):
            note += f", area {old_km2:,.6g} km² before, {new_km2:,.6g} km² after"
        notes.append(note)
    more = f" and {len(invalid) - SHOWN} more" if len(invalid) > SHOWN else ""
    log.warning(
        "%s: %s invalid (%s%s) and repaired with shapely's make_valid; check the result if the area matters",
        what,
        count,
        "; ".join(notes),
        more,
    )
