"""What goes wrong when a whole AOI is projected into one UTM zone, as 0.1.7's grid and random do.

Transverse Mercator is a faithful plane only within some tens of degrees of its central meridian,
and the AOI's vertices are projected as they are (0.1.7 did not densify), so a long edge becomes a
straight chord in the zone. For a country that changes nothing; for an AOI drawn across half the
globe the chords describe another area altogether: a box from -180° to 180° lands on one line (both
edges are the same meridian), so every piece cut from it is a zero-width sliver, and a ring from 179°
to -179° runs through the projection's singular points. Comparing the AOI's area in the zone as its
vertices stand with its area once its edges are densified says whether the zone holds it; the check
says so before any cutting, instead of millions of degenerate pieces.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geetiles.regions.span import LongitudeSpan, longitude_span

DENSIFY_DEG = 0.25  # edges are bent in the zone every quarter degree for the comparison
MISMATCH = 2.0  # the zone's two areas differ by more than this factor: the zone does not hold the AOI


def chord_area_ratio(aoi_lonlat: shapely.Geometry, aoi_zone: shapely.Geometry, project) -> float:
    """The AOI's area in the zone as its vertices are projected, over its area there with its edges
    densified first (``project`` maps (n, 2) lon/lat to zone coordinates); NaN when either is not
    finite. 1 for a country, far from 1 for an area the zone cannot hold."""
    dense = shapely.transform(shapely.segmentize(aoi_lonlat, DENSIFY_DEG), project)
    if not (np.isfinite(shapely.get_coordinates(aoi_zone)).all() and np.isfinite(shapely.get_coordinates(dense)).all()):
        return math.nan
    bent = shapely.area(dense)
    return shapely.area(aoi_zone) / bent if bent > 0 else math.nan


def fold_reason(aoi_lonlat: shapely.Geometry, aoi_zone: shapely.Geometry, project) -> str | None:
    """Why the zone cannot hold the AOI (a phrase for a message), or None when it can."""
    ratio = chord_area_ratio(aoi_lonlat, aoi_zone, project)
    if 1 / MISMATCH <= ratio <= MISMATCH:
        return None
    span = describe_span(longitude_span(aoi_lonlat))
    if math.isnan(ratio):
        return f"the AOI ({span}) does not project into it: it reaches the projection's singular points"
    dense = shapely.area(shapely.transform(shapely.segmentize(aoi_lonlat, DENSIFY_DEG), project))
    return (
        f"the AOI ({span}) does not fit in it (projected there, its vertices enclose "
        f"{shapely.area(aoi_zone) / 1e6:.3g} km² but its edges, followed every {DENSIFY_DEG:g}°, "
        f"{dense / 1e6:.3g} km²)"
    )


def describe_span(span: LongitudeSpan) -> str:
    if span.degrees >= 360:
        return "spanning all 360° of longitude"
    return f"spanning {span.degrees:.4g}° of longitude, {span.west:.6g} eastwards to {span.east:.6g}"


ANTIMERIDIAN_FIX = (
    "cut each side of the antimeridian in its own run "
    "(e.g. aoi.bbox=[{west:.6g},{south:.6g},180,{north:.6g}] "
    "then aoi.bbox=[-180,{south:.6g},{east:.6g},{north:.6g}]), or use tiling=utm or tiling=majortom, "
    "which cut each side in its own zone"
)


def antimeridian_fix(aoi_lonlat: shapely.Geometry, span: LongitudeSpan) -> str:
    """How to tile an AOI that crosses the antimeridian with a one-zone tiling."""
    _, south, _, north = shapely.bounds(aoi_lonlat)
    return ANTIMERIDIAN_FIX.format(west=span.west, east=span.east, south=south, north=north)
