"""The ``aoi`` group: which area of interest, and the name that prefixes every file of the dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional


@dataclass
class AoiConfig:
    """Exactly one of wkt_file, file, bbox, country; ``name`` prefixes every file of the dataset."""

    name: Optional[str] = None
    wkt_file: Optional[str] = None
    file: Optional[str] = None
    layer: Optional[str] = None  # layer of a multi-layer file (GeoPackage); default the first
    bbox: Optional[List[float]] = None  # [minlon, minlat, maxlon, maxlat]
    country: Optional[str] = None  # Natural Earth name, ISO alpha-3 code or continent
