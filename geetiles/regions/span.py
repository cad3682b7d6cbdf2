"""How much longitude an AOI really spans, taken around the globe, and a warning when it is over half.

A ring drawn from 179° to -179° means, to a planar library, the long way round: 358° of longitude,
not the 2° across the antimeridian its author meant, and it is tiled as such (millions of chips).
The span here is the shortest arc of longitude that holds every polygon part, so an AOI already
split at ±180 (Fiji, an ``aoi.bbox`` with minlon > maxlon) spans a few degrees and crosses the
antimeridian, while that ring spans 358° and does not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

log = logging.getLogger(__name__)

WIDE_DEG = 180.0  # an AOI spanning more than this was probably meant to cross the antimeridian
FULL_CIRCLE_SLACK = 1e-6  # degrees: a smaller gap in longitude is rounding noise, not a gap


@dataclass(frozen=True)
class LongitudeSpan:
    """The shortest arc of longitude holding the AOI: from ``west`` eastwards to ``east`` (which is
    below ``west`` when the arc crosses the antimeridian), ``degrees`` long."""

    degrees: float
    west: float
    east: float

    @property
    def crosses_antimeridian(self) -> bool:
        return self.east < self.west


def longitude_span(geometry: shapely.Geometry) -> LongitudeSpan:
    """The shortest arc of longitude holding every polygon part's longitude range."""
    parts = shapely.get_parts(geometry)
    bounds = shapely.bounds(parts[~shapely.is_empty(parts)]) if len(parts) else np.empty((0, 4))
    if len(bounds) == 0:
        return LongitudeSpan(0.0, 0.0, 0.0)
    intervals = sorted(zip(bounds[:, 0].tolist(), bounds[:, 2].tolist()))
    merged = [list(intervals[0])]
    for low, high in intervals[1:]:
        if low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    # the largest gap of longitude with no AOI in it: between merged ranges, or the one across ±180
    gaps = [(merged[0][0] + 360 - merged[-1][1], -1)]
    gaps += [(merged[i + 1][0] - merged[i][1], i) for i in range(len(merged) - 1)]
    gap, after = max(gaps)
    if gap < FULL_CIRCLE_SLACK:  # data store ±180 with rounding noise (Natural Earth's Antarctica)
        return LongitudeSpan(360.0, -180.0, 180.0)
    if after < 0:  # the AOI lies between the ends of the widest gap, not across ±180
        return LongitudeSpan(360.0 - gap, merged[0][0], merged[-1][1])
    return LongitudeSpan(360.0 - gap, merged[after + 1][0], merged[after][1])


def warn_if_wide(geometry: shapely.Geometry, origin: str) -> LongitudeSpan:
    """Log a warning when the AOI spans more than 180° of longitude, with how to cross the
    antimeridian instead; return the span."""
    span = longitude_span(geometry)
    if span.degrees <= WIDE_DEG:
        return span
    _, south, _, north = shapely.bounds(geometry)
    if span.degrees >= 360:
        extent, example = "all 360° of longitude", ""
    else:
        extent = f"{span.degrees:.4g}° of longitude ({span.west:.6g} eastwards to {span.east:.6g})"
        example = (
            ""
            if span.crosses_antimeridian
            else f", e.g. aoi.bbox=[{span.east:.6g},{south:.6g},{span.west:.6g},{north:.6g}]"
        )  # the other way round
    log.warning(
        "%s: the AOI spans %s; if it is meant to cross the antimeridian, give aoi.bbox with minlon > maxlon%s, "
        "or split the ring at ±180 into two polygons (tiling=utm and tiling=majortom cut each side in its own "
        "UTM zone or cell row)",
        origin,
        extent,
        example,
    )
    return span
