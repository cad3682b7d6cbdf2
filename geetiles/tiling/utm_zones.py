"""UTM zone lookup, done the way geetiles 0.1.7 did it so compatibility-mode files match."""

from __future__ import annotations

from functools import lru_cache

from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from geetiles.errors import UserInputError


@lru_cache(maxsize=256)
def utm_crs_at(lon: float, lat: float) -> CRS:
    """The first WGS 84 UTM CRS whose area of use contains the point (the original's choice)."""
    found = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(lon, lat, lon, lat),
    )
    if not found:
        raise UserInputError(f"no UTM zone covers lon={lon:.5f}, lat={lat:.5f}; check the AOI coordinates")
    return CRS.from_epsg(int(found[0].code))


def utm_epsg(zone: int, north: bool) -> int:
    """EPSG code of WGS 84 / UTM ``zone`` (1..60) in the given hemisphere."""
    return (32600 if north else 32700) + zone
