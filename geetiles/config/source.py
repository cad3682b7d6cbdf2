"""The ``source`` and ``labels`` groups: what to download for every chip (images, labels)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional

from geetiles.config.recipe import ClassConfig, RecipeConfig


class SourceKind(Enum):
    earthengine = "earthengine"
    demo = "demo"  # synthetic, offline: for trying the pipeline without an account
    local = "local"  # a raster GDAL reads (path or URL), resampled onto each chip


@dataclass
class SourceConfig:
    """What to download for every chip; ``dataset`` unset means the download stage has nothing to do."""

    kind: SourceKind = SourceKind.earthengine
    dataset: Optional[str] = None  # built-in dataset name, or a Python file defining get_ee_image()
    name: Optional[str] = None  # folder name of the chips; default: the dataset's own name
    pixels_lonlat: Optional[List[int]] = None  # [width, height] of every chip
    meters_per_pixel: Optional[float] = None  # or a pixel size; exactly one of the two
    nodata: Optional[float] = None  # default: 0 for integer bands, NaN for float bands
    resampling: Optional[str] = None  # local rasters: default nearest for integer bands, bilinear otherwise
    recipe: Optional[RecipeConfig] = None  # Earth Engine: a declarative dataset (instead of a Python file)
    classes: List[ClassConfig] = field(default_factory=list)  # local rasters: label classes (recipes declare their own)
    range_map: Optional[List[float]] = None  # local rasters: value thresholds of range classes, as recipe.range_map
