"""A declarative Earth Engine dataset (``source.recipe``, ``labels.recipe``) and the label classes that
recipes and local rasters declare."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional


class Reducer(Enum):
    median = "median"
    mean = "mean"
    mosaic = "mosaic"
    max = "max"
    min = "min"
    count = "count"
    first = "first"
    quality_mosaic = "quality_mosaic"  # per pixel, all bands of the image with the highest recipe.quality_band


class CloudMask(Enum):
    none = "none"
    qa60 = "qa60"  # Sentinel-2 QA60 bits 10 (clouds) and 11 (cirrus)
    cloudscore_plus = "cloudscore_plus"  # GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED, band cs


class Stacking(Enum):
    none = "none"
    seasonal = "seasonal"  # winter (Dec of the previous year to Feb), spring, summer, fall
    monthly = "monthly"
    yearly = "yearly"  # one slice per entry of recipe.years (whole calendar years)


class OrbitPass(Enum):
    """Sentinel-1 pass direction; fills {orbit} (asc|des) and {orbit_pass} (ASCENDING|DESCENDING)."""

    asc = "asc"
    des = "des"


class TerrainBand(Enum):
    """Bands ee.Terrain derives from an elevation image, added after the reducer."""

    slope = "slope"  # degrees
    aspect = "aspect"  # degrees
    hillshade = "hillshade"


class PixelType(Enum):
    uint8 = "uint8"
    int8 = "int8"
    uint16 = "uint16"
    int16 = "int16"
    uint32 = "uint32"
    int32 = "int32"
    float32 = "float32"
    float64 = "float64"


class FilterOp(Enum):
    lt = "lt"
    lte = "lte"
    gt = "gt"
    gte = "gte"
    eq = "eq"
    neq = "neq"
    listContains = "listContains"  # a list property holds the value (e.g. Sentinel-1 polarisations)


@dataclass
class FilterConfig:
    property: str = "???"
    op: FilterOp = FilterOp.eq
    value: Any = None


@dataclass
class PartConfig:
    """One band group of every slice, from its own filters, bands and reducer (e.g. Sentinel-1 VV
    on ascending passes). A part with one band is named after the part, else ``{part}_{band}``."""

    name: str = "???"
    select: Optional[List[str]] = None  # default: recipe.select
    filters: List[FilterConfig] = field(default_factory=list)  # added to recipe.filters
    reducer: Optional[Reducer] = None  # default: recipe.reducer


@dataclass
class VisualizeConfig:
    min: Optional[float] = None
    max: Optional[float] = None
    palette: Optional[List[str]] = None
    bands: Optional[List[str]] = None


@dataclass
class ClassConfig:
    code: int = 0
    name: str = ""
    color: str = "#000000"


@dataclass
class RecipeConfig:
    """A declarative Earth Engine dataset (see geetiles/sources/ee_recipe.py)."""

    name: str = "???"  # dataset name; may use {year} and {orbit}
    aliases: List[str] = field(default_factory=list)  # other names that find this recipe
    collection: str = "???"  # ImageCollection id (or an Image id with image: true)
    image: bool = False
    year: Optional[int] = None  # fills {year}, {previous_year}, {next_year}; needed for seasonal/monthly stacking
    years: Optional[List[int]] = None  # yearly stacking: one slice per year
    orbit: Optional[OrbitPass] = None  # fills {orbit} and {orbit_pass} in the name and filter values
    start: Optional[str] = None
    end: Optional[str] = None  # exclusive, as Earth Engine's filterDate
    filters: List[FilterConfig] = field(default_factory=list)
    mask: CloudMask = CloudMask.none
    cloud_score_threshold: float = 0.6
    valid_range: Optional[List[float]] = None  # [min, max]: pixels outside are masked before reducing
    select: Optional[List[str]] = None
    rename: Optional[List[str]] = None
    parts: List[PartConfig] = field(default_factory=list)  # band groups with their own filters/reducer
    divide: Optional[float] = None
    scale: float = 1.0
    offset: float = 0.0
    reducer: Reducer = Reducer.median
    quality_band: Optional[str] = None  # for reducer quality_mosaic
    terrain: List[TerrainBand] = field(default_factory=list)  # e.g. [slope] for an elevation model
    stack: Stacking = Stacking.none
    band_template: str = "{period}_{band}"
    visualize: Optional[VisualizeConfig] = None
    remap: Dict[int, int] = field(default_factory=dict)  # class codes to new codes (e.g. WorldCover 10..100 to 1..11)
    # class code -> key of the proportions columns (geetiles 0.1.7's map_values)
    proportion_keys: Dict[int, int] = field(default_factory=dict)
    dtype: Optional[PixelType] = None  # values are clamped to the type's range before the cast
    classes: List[ClassConfig] = field(default_factory=list)  # label datasets: code, name, colour
    # label datasets: thresholds t0<t1<..., class i+1 is [t_i, t_i+1), 0 below t0
    range_map: Optional[List[float]] = None
