"""The ``tiling`` group (how to cut the AOI into chips) and the ``foreign`` group (into which coarser
units), which share one schema."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional


class TilingKind(Enum):
    grid = "grid"  # geetiles 0.1.7's grid, bit-compatible
    utm = "utm"  # seamless squares per UTM zone
    random = "random"  # the original's recursive "katana" partitions, seeded
    select = "select"  # units (communes, districts) of a vector file that intersect the AOI
    majortom = "majortom"  # cells of ESA's Major TOM global grid
    file = "file"  # an existing tiles file (foreign units only)
    none = "none"  # no tiling (foreign units only: the default)


@dataclass
class TilingConfig:
    """How to cut the AOI (group ``tiling``), or into which coarser units (group ``foreign``)."""

    kind: TilingKind = TilingKind.grid
    chip_size_m: float = 1000.0  # grid, utm, majortom
    max_chips: int = 20_000_000  # refuse tilings that would not fit in memory
    max_size_m: float = 20000.0  # random: longest side of a piece, metres
    seed: int = 0  # random: the same seed gives the same file, byte for byte
    file: Optional[str] = None  # select: a vector file GDAL reads (any CRS); file: an existing tiles file
    layer: Optional[str] = None  # select: layer of a multi-layer file; default the first
    name: Optional[str] = None  # select: the tiles name in {aoi}_partitions_{name}_{hash}
    min_overlap_km2: float = 1e-3  # select: units overlapping the AOI less than this are dropped
    clip: bool = False  # select: clip units to the AOI (the original never clipped)
