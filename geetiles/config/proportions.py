"""The ``proportions`` group: per-chip label proportions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional


class ProportionsEngine(Enum):
    none = "none"  # no proportions
    local = "local"  # from the downloaded label chips, exact partial-pixel coverage
    earthengine = "earthengine"  # Earth Engine reduceRegions with a frequency histogram: nothing downloaded


@dataclass
class ProportionsConfig:
    """Per-chip label proportions (group ``proportions``)."""

    engine: ProportionsEngine = ProportionsEngine.local
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    dataset: Optional[str] = None  # the labels dataset (its chip folder); default: this run's labels
    definition: Optional[str] = None  # chips without a download record (geetiles 0.1.7's): the labels recipe name
    # also mix the foreign units' proportions onto the chips ({dataset}_proportions_at_{name})
    from_foreign: bool = False
    foreign_file: Optional[str] = None  # the foreign units' tiles file, with {dataset}_proportions; else this run's
    workers: Optional[int] = None  # local engine: processes; default: one per core, one for small files
    scale_m: Optional[float] = None  # earthengine: pixel size of the histogram; default: the dataset's native scale
    units_per_request: int = 64  # earthengine: features per reduceRegions request
