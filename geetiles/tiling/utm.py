"""Seamless UTM tiling: exact squares snapped to a per-zone grid, no gaps and no overlaps.

The AOI is cut along UTM zone and hemisphere boundaries (regular 6-degree zones; the Norway and
Svalbard exceptions are not applied). In each zone, chips are the cells of the grid of multiples of
``chip_size_m`` in that zone's CRS that intersect the AOI part, so chips tile the zone exactly.
Neighbouring zones have different grids, so chips near a zone border overlap chips of the next zone.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer

from geetiles.tiling.chips import Chips, check_candidate_count
from geetiles.tiling.ids import chip_ids
from geetiles.tiling.select import lattice_intersects
from geetiles.tiling.utm_zones import utm_epsg

_DENSIFY_DEG = 0.05  # so long straight lon/lat edges bend as they should once projected


def utm_chips(aoi: shapely.Geometry, chip_size_m: float, max_chips: int) -> Chips:
    """Chips of ``chip_size_m`` metres in each UTM zone the AOI touches, ordered by zone.

    The candidates of every zone are counted before any is made, and refused above ``max_chips``
    in all: an AOI around the globe is 60 zones of a million candidates each."""
    projected = [(epsg, _project(epsg, part)) for epsg, part in split_by_zone(aoi)]
    check_candidate_count(sum(_candidate_count(part, chip_size_m) for _, part in projected), max_chips)
    pieces = [_zone_chips(epsg, part, chip_size_m, max_chips) for epsg, part in projected]
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return Chips(np.empty(0, dtype=object), [], np.empty(0), _empty_extra())
    return Chips(
        geometry=np.concatenate([p.geometry for p in pieces]),
        identifier=[i for p in pieces for i in p.identifier],
        area_km2=np.concatenate([p.area_km2 for p in pieces]),
        extra={k: np.concatenate([p.extra[k] for p in pieces]) for k in pieces[0].extra},
    )


def split_by_zone(aoi: shapely.Geometry) -> list[tuple[int, shapely.Geometry]]:
    """(EPSG code, lon/lat part of the AOI) for every UTM zone and hemisphere the AOI touches."""
    minx, miny, maxx, maxy = aoi.bounds
    first = max(1, int(np.floor((minx + 180) / 6)) + 1)
    last = min(60, int(np.floor((maxx + 180) / 6)) + 1)
    parts = []
    shapely.prepare(aoi)
    for zone in range(first, last + 1):
        west = -180 + 6 * (zone - 1)
        for north, (south_lat, north_lat) in ((False, (-90, 0)), (True, (0, 90))):
            if maxy < south_lat or miny > north_lat:
                continue
            band = shapely.box(west, south_lat, west + 6, north_lat)
            if not shapely.intersects(aoi, band):
                continue
            part = shapely.intersection(aoi, band)
            if shapely.area(part) > 0:
                parts.append((utm_epsg(zone, north), part))
    return sorted(parts, key=lambda item: item[0])


def _project(epsg: int, part: shapely.Geometry) -> shapely.Geometry:
    """A lon/lat part in its zone's metres, its edges densified first so that they bend as they should."""
    to_zone = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    dense = shapely.segmentize(part, _DENSIFY_DEG)
    return shapely.transform(dense, lambda c: np.column_stack(to_zone.transform(c[:, 0], c[:, 1])))


def _candidate_count(projected: shapely.Geometry, size: float) -> int:
    minx, miny, maxx, maxy = projected.bounds
    return int(np.ceil(maxx / size) - np.floor(minx / size)) * int(np.ceil(maxy / size) - np.floor(miny / size))


def _zone_chips(epsg: int, projected: shapely.Geometry, size: float, max_chips: int) -> Chips:
    to_lonlat = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    minx, miny, maxx, maxy = projected.bounds
    ix = np.arange(np.floor(minx / size), np.ceil(maxx / size))
    iy = np.arange(np.floor(miny / size), np.ceil(maxy / size))
    check_candidate_count(len(ix) * len(iy), max_chips)
    x0 = np.repeat(ix, len(iy)) * size  # x outer, y inner, as the compatibility grid orders rows
    y0 = np.tile(iy, len(ix)) * size
    shape = (len(ix), len(iy))
    x0, y0 = x0.reshape(shape), y0.reshape(shape)
    keep = lattice_intersects(x0, y0, x0 + size, y0 + size, projected)
    x0, y0 = x0[keep], y0[keep]  # row-major: x outer, y inner

    corner_x = np.column_stack([x0 + size, x0 + size, x0, x0])
    corner_y = np.column_stack([y0, y0 + size, y0 + size, y0])
    lon, lat = to_lonlat.transform(corner_x, corner_y)
    rings = np.stack([lon, lat], axis=-1)
    geometry = shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1)) if len(x0) else np.empty(0, object)
    bounds = np.column_stack([lon.min(axis=1), lat.min(axis=1), lon.max(axis=1), lat.max(axis=1)])
    return Chips(
        geometry=geometry,
        identifier=chip_ids(bounds),
        area_km2=np.full(len(x0), size * size / 1e6),
        extra={"epsg": np.full(len(x0), epsg, dtype=np.int32), "utm_x": x0, "utm_y": y0},
    )


def _empty_extra() -> dict[str, np.ndarray]:
    return {"epsg": np.empty(0, np.int32), "utm_x": np.empty(0), "utm_y": np.empty(0)}
