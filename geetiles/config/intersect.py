"""The ``intersect`` keys: the two tiles files when the intersect stage runs alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class IntersectConfig:
    """When the intersect stage runs alone: the chips' tiles file and the foreign units' tiles file
    (in a run, the tiling and foreign stages' files)."""

    tiles_file: Optional[str] = None
    foreign_file: Optional[str] = None
