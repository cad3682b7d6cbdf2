"""The typed configuration tree. Hydra composes YAML onto these dataclasses, so a misspelt key or a
value of the wrong type fails at start-up instead of halfway through a run.

One schema module per config group, as ``geetiles/conf/`` is laid out; this package defines the
whole tree (``ExperimentConfig``), its registration, and hands every schema name on, so
``from geetiles.config import X`` names any of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List

from geetiles.config.aoi import AoiConfig
from geetiles.config.download import DownloadConfig, OnChange, WriteOn
from geetiles.config.ee import EeConfig
from geetiles.config.export import ExportConfig, ExportFormat, OnMissing
from geetiles.config.intersect import IntersectConfig
from geetiles.config.proportions import ProportionsConfig, ProportionsEngine
from geetiles.config.ray import RayConfig
from geetiles.config.recipe import (
    ClassConfig,
    CloudMask,
    FilterConfig,
    FilterOp,
    OrbitPass,
    PartConfig,
    PixelType,
    RecipeConfig,
    Reducer,
    Stacking,
    TerrainBand,
    VisualizeConfig,
)
from geetiles.config.report import ReportConfig
from geetiles.config.source import SourceConfig, SourceKind
from geetiles.config.split import BlockAssign, SplitBy, SplitConfig, SplitKind
from geetiles.config.tiling import TilingConfig, TilingKind

__all__ = [
    "AoiConfig",
    "BlockAssign",
    "ClassConfig",
    "CloudMask",
    "DownloadConfig",
    "EeConfig",
    "ExperimentConfig",
    "ExportConfig",
    "ExportFormat",
    "FilterConfig",
    "FilterOp",
    "IntersectConfig",
    "OnChange",
    "OnMissing",
    "OrbitPass",
    "PartConfig",
    "PixelType",
    "ProportionsConfig",
    "ProportionsEngine",
    "RayConfig",
    "RecipeConfig",
    "Reducer",
    "ReportConfig",
    "SourceConfig",
    "SourceKind",
    "SplitBy",
    "SplitConfig",
    "SplitKind",
    "Stacking",
    "Stage",
    "TerrainBand",
    "TilingConfig",
    "TilingKind",
    "VisualizeConfig",
    "WriteOn",
    "register",
]


class Stage(Enum):
    aoi = "aoi"
    tiling = "tiling"
    foreign = "foreign"  # the coarser units (a second tiles file); nothing with foreign=none
    intersect = "intersect"  # foreignid_{name} on every chip; nothing with foreign=none
    download = "download"
    proportions = "proportions"  # {labels}_proportions and _valid_frac per chip; nothing without labels
    split = "split"  # train/val/test columns and {tiles}_splits.csv; nothing with split=none
    export = "export"  # the dataset: GeoTIFF folder + index, WebDataset shards, the original's zip
    report = "report"  # maps, a sample sheet and index.html in {tiles base}_report/


@dataclass
class ExperimentConfig:
    aoi: AoiConfig = field(default_factory=AoiConfig)
    tiling: TilingConfig = field(default_factory=TilingConfig)
    foreign: TilingConfig = field(default_factory=lambda: TilingConfig(kind=TilingKind.none))  # coarser units
    intersect: IntersectConfig = field(default_factory=IntersectConfig)
    proportions: ProportionsConfig = field(default_factory=ProportionsConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    source: SourceConfig = field(default_factory=SourceConfig)  # the images
    labels: SourceConfig = field(default_factory=SourceConfig)  # the labels, on the same chips
    download: DownloadConfig = field(default_factory=DownloadConfig)
    ee: EeConfig = field(default_factory=EeConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    data_dir: str = "outputs/data"  # tiles files and chips; relative to where the command runs
    stages: List[Stage] = field(
        default_factory=lambda: [
            Stage.aoi,
            Stage.tiling,
            Stage.foreign,
            Stage.intersect,
            Stage.download,
            Stage.proportions,
            Stage.split,
            Stage.export,
            Stage.report,
        ]
    )


def register() -> None:
    """Make the schema available to the defaults list of ``conf/config.yaml``, once per process: turning
    the dataclasses into a config was a quarter of every composition's CPU time (``bench/compose.py``)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    if "experiment_schema.yaml" not in store.list(""):
        store.store(name="experiment_schema", node=ExperimentConfig)
