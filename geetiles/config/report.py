"""The ``report`` group: the maps, sample sheet and index.html a person opens first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class ReportConfig:
    """The report a person opens first (group ``report``)."""

    enabled: bool = True
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    images: Optional[str] = None  # the images dataset for the sample sheet; default: this run's source
    labels: Optional[str] = None  # the labels dataset (class colours, dominant class map); default: this run's labels
    foreign_file: Optional[str] = None  # foreign units to outline; default: this run's
    dest: Optional[str] = None  # default: {tiles file without .geojson}_report
    samples: int = 16  # chips on the sample sheet
    seed: int = 0  # which chips the sample sheet shows
    max_polygons: int = 20000  # above this many chips, maps are drawn aggregated (a raster of chip centres)
