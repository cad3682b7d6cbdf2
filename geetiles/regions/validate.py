"""Checks that turn a geometry from anywhere into a trustworthy lon/lat polygon, or a clear error."""

from __future__ import annotations

import shapely

from geetiles.errors import UserInputError
from geetiles.repair import polygonal_part, repair_polygons

_SLACK = 1e-6  # datasets store ±180 with rounding noise (Natural Earth's Russia: 180.00000000000006)


def polygonal_lonlat(geometry: shapely.Geometry, origin: str) -> shapely.Geometry:
    """Return ``geometry`` as a valid (Multi)Polygon in lon/lat, or raise a one-line error.

    ``origin`` names where the geometry came from (a config key and value), for the message.
    """
    if geometry is None or shapely.is_empty(geometry):
        raise UserInputError(f"{origin}: the geometry is empty; give an area with at least one polygon")
    check_lonlat_range(geometry, origin)
    if geometry.geom_type in ("Polygon", "MultiPolygon") and shapely.is_valid(geometry) and shapely.area(geometry) > 0:
        # kept as given, vertex for vertex: the original's grid takes the centroid of the AOI it read
        return geometry
    kind = geometry.geom_type
    if not shapely.is_valid(geometry):
        [geometry] = repair_polygons([geometry], origin)  # a warning says what was wrong and what it became
    else:
        geometry = polygonal_part(geometry)
    area = shapely.union_all(shapely.get_parts(geometry)) if not shapely.is_empty(geometry) else None
    if area is None or shapely.is_empty(area) or shapely.area(area) == 0:
        raise UserInputError(
            f"{origin}: the geometry has zero area ({kind}); an AOI must contain a "
            f"polygon with an area (a point or line cannot be tiled)"
        )
    return area


def check_lonlat_range(geometry: shapely.Geometry, origin: str) -> None:
    """Coordinates must be lon in [-180, 180] and lat in [-90, 90]; say so, and spot swapped axes."""
    minx, miny, maxx, maxy = shapely.bounds(geometry)
    lon_ok = -180 - _SLACK <= minx and maxx <= 180 + _SLACK
    lat_ok = -90 - _SLACK <= miny and maxy <= 90 + _SLACK
    if lon_ok and lat_ok:
        return
    if not lat_ok and -90 <= minx and maxx <= 90 and -180 <= miny and maxy <= 180:
        raise UserInputError(
            f"{origin}: coordinates look like lat/lon (second values reach {max(abs(miny), abs(maxy)):.4g},"
            f" beyond ±90); write them as lon lat (x = longitude first)"
        )
    raise UserInputError(
        f"{origin}: coordinates are outside lon/lat range (bounds {minx:.6g}, {miny:.6g}, {maxx:.6g}, "
        f"{maxy:.6g}); give lon in [-180, 180] and lat in [-90, 90] (EPSG:4326), or a file that declares its CRS"
    )
