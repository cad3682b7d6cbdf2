"""A set of chips held as arrays, and the columns every tiles file has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geetiles.errors import UserInputError


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


def check_candidate_count(count: int, max_chips: int) -> None:
    """Refuse, before allocating anything, a tiling that would not fit in memory."""
    if count > max_chips:
        raise UserInputError(
            f"this tiling would examine {count:,} candidate chips, more than tiling.max_chips="
            f"{max_chips:,}; use a larger tiling.chip_size_m or raise tiling.max_chips"
        )
