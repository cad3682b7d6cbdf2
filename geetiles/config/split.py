"""The ``split`` group: how chips are split into train/val/test."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional


class SplitKind(Enum):
    none = "none"  # no split (the default)
    legacy = "legacy"  # geetiles 0.1.7's angled bands, exactly (geet split)
    bands = "bands"  # parallel bands at a true azimuth, in metres, exact fractions
    blocks = "blocks"  # square blocks on a metric grid, assigned at random (balanced) or as a checkerboard
    groups = "groups"  # whole groups of a column (e.g. foreignid_communes)
    random = "random"  # per chip: leaky, for comparison only


class SplitBy(Enum):
    count = "count"
    area = "area"


class BlockAssign(Enum):
    random = "random"
    checkerboard = "checkerboard"


@dataclass
class SplitConfig:
    """How chips are split into train/val/test (group ``split``)."""

    kind: SplitKind = SplitKind.none
    fractions: List[float] = field(default_factory=lambda: [0.7, 0.15, 0.15])  # train, val, test
    by: SplitBy = SplitBy.count  # fractions of the chip count, or of the chips' area
    seed: int = 0
    buffer_m: float = 0.0  # chips within this distance of a chip of another split become "gap"
    group_by: Optional[str] = None  # a column whose groups are never cut (geometric strategies)
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    # legacy (geetiles 0.1.7): fractions are train_pct, test_pct, val_pct of geet split
    nbands: int = 8
    angle: float = 0.0  # radians, in [-pi/2, pi/2], on normalised coordinates (the original's)
    foreign_name: Optional[str] = None  # also split_{name}: the majority split of each foreignid_{name}
    # bands
    azimuth_deg: float = 0.0  # direction the bands run along, degrees clockwise from north
    band_width_m: Optional[float] = None
    bands: Optional[int] = 10  # or a band count (set band_width_m=null)
    # blocks
    block_size_m: float = 10000.0
    assign: BlockAssign = BlockAssign.random
    candidates: int = 16  # random blocks: the best of this many seeded assignments
    # groups
    column: Optional[str] = None  # the column whose values are the groups
