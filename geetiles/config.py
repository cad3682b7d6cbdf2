"""The typed configuration tree. Hydra composes YAML onto these dataclasses, so a misspelt key or a
value of the wrong type fails at start-up instead of halfway through a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional

from hydra.core.config_store import ConfigStore


class TilingKind(Enum):
    grid = "grid"  # geetiles 0.1.7's grid, bit-compatible
    utm = "utm"  # seamless squares per UTM zone


class Stage(Enum):
    aoi = "aoi"
    tiling = "tiling"


@dataclass
class AoiConfig:
    """Exactly one of wkt_file, file, bbox, country; ``name`` prefixes every file of the dataset."""

    name: Optional[str] = None
    wkt_file: Optional[str] = None
    file: Optional[str] = None
    layer: Optional[str] = None  # layer of a multi-layer file (GeoPackage); default the first
    bbox: Optional[List[float]] = None  # [minlon, minlat, maxlon, maxlat]
    country: Optional[str] = None  # Natural Earth name, ISO alpha-3 code or continent


@dataclass
class TilingConfig:
    kind: TilingKind = TilingKind.grid
    chip_size_m: float = 1000.0
    max_chips: int = 20_000_000  # refuse tilings that would not fit in memory


@dataclass
class ExperimentConfig:
    aoi: AoiConfig = field(default_factory=AoiConfig)
    tiling: TilingConfig = field(default_factory=TilingConfig)
    data_dir: str = "outputs/data"  # tiles files and chips; relative to where the command runs
    stages: List[Stage] = field(default_factory=lambda: [Stage.aoi, Stage.tiling])


def register() -> None:
    """Make the schema available to the defaults list of ``conf/config.yaml``."""
    store = ConfigStore.instance()
    store.store(name="experiment_schema", node=ExperimentConfig)
