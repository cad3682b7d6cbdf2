"""The one small interface every source implements, so the download engine never knows which
source it drives: given a chip's pixel grid, return its pixels and band names.

Driver side, an ``OpenedSource`` (connected, validated) hands out picklable ``FetcherSpec``s; each
download worker turns its spec into a ``Fetcher`` and calls ``fetch(grid, tally)`` per chip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from geetiles.fetching.grid import PixelGrid, Pixels  # noqa: F401  (Pixels: part of the interface)


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

    def describe(self) -> dict:
        """What decides the pixels besides the config and the pixel grid (JSON-able), for the request
        fingerprint that lets a rerun skip only chips made by the same request."""

    def auth_headers(self) -> dict[str, str]: ...

    def force_refresh(self) -> None: ...

    def classes(self) -> list[dict]:
        """Label classes ({code, name, color}, codes as written in the chips); [] for imagery."""


def class_table(recipe_classes, remap=None, range_map=None, proportion_keys=None) -> list[dict]:
    """A recipe's classes as later stages read them: codes as the chips hold them (after the remap),
    or, for a range map, the class each value range becomes, with its ``min`` (inclusive) and ``max``
    (exclusive) in the chips' values. Range classes without declared names are named by their range.

    A class whose proportions are keyed otherwise than by its code (geetiles 0.1.7 keyed WorldCover's
    10..100 as 1..11) carries that ``key``."""
    if range_map:
        return _range_classes(list(range_map), {c.code: c for c in recipe_classes})
    remap, keys = dict(remap or {}), dict(proportion_keys or {})
    table = []
    for c in recipe_classes:
        code = int(remap.get(c.code, c.code))
        entry = {"code": code, "name": c.name, "color": c.color}
        if code in keys and keys[code] != code:
            entry["key"] = int(keys[code])
        table.append(entry)
    return table


def _range_classes(thresholds: list[float], declared: dict) -> list[dict]:
    """Thresholds are known to increase: recipes are validated at start-up (ee_recipe.validate)."""
    bounds = [None, *thresholds, None]
    table = []
    for code, (low, high) in enumerate(zip(bounds, bounds[1:])):
        name = f"below {high:g}" if low is None else f"{low:g} or more" if high is None else f"{low:g} to {high:g}"
        declared_class = declared.get(code)
        table.append(
            {
                "code": code,
                "name": declared_class.name if declared_class else name,
                "color": declared_class.color if declared_class else _ramp(code, len(thresholds)),
                "min": low,
                "max": high,
            }
        )
    return table


def _ramp(index: int, last: int) -> str:
    """A light-to-dark colour ramp for classes nobody named (pale yellow to dark red)."""
    light, dark = (255, 255, 204), (128, 0, 38)
    t = index / max(last, 1)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(light, dark))
