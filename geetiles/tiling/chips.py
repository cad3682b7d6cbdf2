"""A set of chips held as arrays, and the columns every tiles file has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from geetiles.errors import UserInputError
from geetiles.tiling.ids import chip_ids


@dataclass
class Chips:
    """Chip polygons in lon/lat with their ids, areas and any tiling-specific columns.

    ``legacy`` chips are written in geetiles 0.1.7's file layout (columns ``area_km2``, ``identifier``;
    GDAL's GeoJSON text, see ``geetiles.tiles``), byte for byte what the original wrote.
    """

    geometry: np.ndarray  # shapely polygons, EPSG:4326
    identifier: list[str]
    area_km2: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    legacy: bool = False

    def __len__(self) -> int:
        return len(self.identifier)

    @classmethod
    def from_lonlat_bounds(cls, bounds: np.ndarray) -> Chips:
        """Axis-aligned lon/lat rectangles (shapely's ``box``), areas in the UTM zone of the set's envelope."""
        geometry = shapely.box(*bounds.T) if len(bounds) else np.empty(0, dtype=object)
        return cls(geometry, chip_ids(bounds), envelope_utm_area_km2(bounds))

    def columns(self) -> dict[str, Any]:
        """The property columns in file order: the original's ``area_km2, identifier`` (for every
        tiling: random and select files are laid out as 0.1.7 wrote them), then the extras."""
        return {"area_km2": self.area_km2, "identifier": self.identifier, **self.extra}

    def to_geodataframe(self):
        """GeoDataFrame of :meth:`columns`, then ``geometry``; legacy chips carry
        ``attrs[LEGACY_LAYOUT_ATTR]`` so that ``write_tiles`` writes them in the original's layout."""
        import geopandas as gpd

        from geetiles.tiles import LEGACY_LAYOUT_ATTR

        frame = gpd.GeoDataFrame(self.columns(), geometry=self.geometry, crs="EPSG:4326")
        if self.legacy:
            frame.attrs[LEGACY_LAYOUT_ATTR] = True
        return frame


def envelope_utm_area_km2(bounds: np.ndarray) -> np.ndarray:
    """Areas of lon/lat rectangles in the UTM zone of the set's envelope, about as the original did.

    The original took the mean of the envelope ring's five vertices (the first counted twice) as
    the "centre"; that choice only picks the zone, and is kept so that zones agree with it. (The
    original's exact floats, for its grid: ``geetiles.tiling.grid.original_area_km2``.)
    """
    from pyproj import Transformer

    from geetiles.tiling.utm_zones import utm_crs_at

    if len(bounds) == 0:
        return np.empty(0)
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    lon = (3 * minx + 2 * maxx) / 5
    lat = (3 * miny + 2 * maxy) / 5
    to_zone = Transformer.from_crs("EPSG:4326", utm_crs_at(lon, lat), always_xy=True)
    corners_lon = bounds[:, [2, 2, 0, 0]]
    corners_lat = bounds[:, [1, 3, 3, 1]]
    x, y = to_zone.transform(corners_lon, corners_lat)
    return polygon_area(x, y) / 1e6


def polygon_area(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Shoelace area of many polygons given as (N, k) vertex arrays (ring not closed)."""
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))


def check_candidate_count(count: int, max_chips: int) -> None:
    """Refuse, before allocating anything, a tiling that would not fit in memory."""
    if count > max_chips:
        raise UserInputError(
            f"this tiling would examine {count:,} candidate chips, more than tiling.max_chips="
            f"{max_chips:,}; use a larger tiling.chip_size_m or raise tiling.max_chips"
        )
