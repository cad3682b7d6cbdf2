"""The UTM zone geetiles 0.1.7 picked for a set of lon/lat polygons, and its transformers: shared by the
grid tiling (0.1.7's grid, bit for bit) and the tiles writer (0.1.7's ``area_km2`` on every rewrite)."""

from __future__ import annotations

import math

from geetiles.errors import UserInputError


def original_utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the UTM zone 0.1.7's ``get_utm_crs`` picks, without a database query.

    The original asks PROJ for the WGS 84 UTM CRSs whose area of use contains the point and takes the
    first, in EPSG code order: zones are closed intervals [-180 + 6 (z-1), -180 + 6 z] of longitude,
    north (326zz) for 0 <= lat <= 84 before south (327zz) for -80 <= lat <= 0. So a point on a zone
    border takes the western zone, and one on the equator the northern hemisphere. (~0.2 s saved per
    lookup; tests compare it with ``query_utm_crs_info`` on borders.)
    """
    if not (-180 <= lon <= 180 and -80 <= lat <= 84):
        raise UserInputError(f"no UTM zone covers lon={lon:.5f}, lat={lat:.5f}; check the AOI coordinates")
    zone = min(60, max(1, math.ceil((lon + 180) / 6)))
    while zone > 1 and lon <= -180 + 6 * (zone - 1):  # exact comparisons with integers
        zone -= 1
    while zone < 60 and lon > -180 + 6 * zone:
        zone += 1
    return (32600 if lat >= 0 else 32700) + zone


def utm_transformers(epsg: int):
    """(lon/lat -> zone, zone -> lon/lat) transformers, x = longitude first (``always_xy``), as
    geopandas' ``to_crs`` made them for the original."""
    from pyproj import Transformer

    return (
        Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True),
        Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True),
    )
