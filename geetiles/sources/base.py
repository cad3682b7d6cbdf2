"""The one small interface every source implements, so the download engine never knows which
source it drives: given a chip's pixel grid, return its pixels and band names.

Driver side, an ``OpenedSource`` (connected, validated) hands out picklable ``FetcherSpec``s; each
download worker turns its spec into a ``Fetcher`` and calls ``fetch(grid, tally)`` per chip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from geetiles.download.grids import PixelGrid


@dataclass
class Pixels:
    array: np.ndarray  # (bands, height, width)
    band_names: list[str]


class Fetcher(Protocol):
    headers: dict[str, str]

    async def fetch(self, grid: PixelGrid, tally) -> Pixels: ...

    async def close(self) -> None: ...


class FetcherSpec(Protocol):
    """Picklable recipe for a worker's fetcher; ``share`` gives a worker its part of the global caps."""

    def share(self, max_in_flight: int, max_requests_per_s: float) -> FetcherSpec: ...

    def create(self, seed: int) -> Fetcher: ...


class OpenedSource(Protocol):
    name: str  # dataset name: the folder the chips go to
    source_file: Path | None  # a user's definition file, copied beside the chips

    def spec(self) -> FetcherSpec: ...

    def probe(self, grid: PixelGrid) -> Pixels:
        """A 1x1-pixel fetch: learns bands and dtype, and fails fast on a broken dataset."""

    def auth_headers(self) -> dict[str, str]: ...

    def force_refresh(self) -> None: ...

    def classes(self) -> list[dict]:
        """Label classes ({code, name, color}, codes as written in the chips); [] for imagery."""


def class_table(recipe_classes, remap=None) -> list[dict]:
    """A recipe's declared classes as the chips hold them (codes after the remap, if any)."""
    remap = dict(remap or {})
    return [{"code": int(remap.get(c.code, c.code)), "name": c.name, "color": c.color} for c in recipe_classes]
