"""The report's maps, one PNG each: the AOI with its chips, the split, the dominant label class, the
foreign units over the chips, and the download failures. A map whose inputs are missing is not drawn
(its function returns None)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.report import drawing
from geetiles.report.inputs import ReportInputs, failed_mask

SPLIT_ORDER = ("train", "val", "test", "gap")
SPLIT_COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c", "gap": "#e7298a"}
OTHER_SPLIT = "#bdbdbd"
NO_CLASS = "#e0e0e0"
DONE, FAILED = "#d9d9d9", "#d62728"
MAX_MARKERS = 20000  # failed chips also get a marker (visible at any scale), up to this many


@dataclass
class MapImage:
    key: str  # aoi, split, classes, foreign, failures
    file: str  # PNG file name, beside index.html
    title: str
    mode: str  # polygons | raster
    note: str = ""


def draw_maps(inputs: ReportInputs, folder: Path, max_polygons: int) -> list[MapImage]:
    maps = [
        aoi_map(inputs, folder, max_polygons),
        split_map(inputs, folder, max_polygons),
        class_map(inputs, folder, max_polygons),
        foreign_map(inputs, folder, max_polygons),
        failure_map(inputs, folder, max_polygons),
    ]
    return [m for m in maps if m is not None]


def _extent(inputs: ReportInputs, with_aoi: bool = False) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = inputs.chips.extent()
    if with_aoi and inputs.aoi is not None and not inputs.aoi.is_empty:
        ax0, ay0, ax1, ay1 = inputs.aoi.bounds
        minx, miny, maxx, maxy = min(minx, ax0), min(miny, ay0), max(maxx, ax1), max(maxy, ay1)
    return minx, miny, maxx, maxy


def _chip_count(n: int) -> str:
    return f"{n:,} chip{'s' if n != 1 else ''}"


def aoi_map(inputs: ReportInputs, folder: Path, max_polygons: int) -> MapImage:
    chips = inputs.chips
    name = inputs.aoi_name or "the area of interest"
    fig, ax = drawing.new_map(_extent(inputs, with_aoi=True), f"{name}: {_chip_count(len(chips))}")
    drawn = drawing.draw_chips(
        ax,
        chips.bounds,
        np.zeros(len(chips), dtype=np.int64),
        [drawing.CHIP_FILL],
        chips.geometry,
        max_polygons,
        edge=drawing.CHIP_EDGE,
    )
    entries = [(f"chips ({len(chips):,})", drawing.CHIP_FILL)]
    note = ""
    if inputs.aoi is not None:
        drawing.draw_outlines(ax, np.asarray([inputs.aoi]), drawing.OUTLINE, 1.2)
        entries.append((f"AOI {name}", drawing.OUTLINE, "line"))
    else:
        note = "AOI outline left out: no AOI file ({aoi name}.wkt) beside the tiles file"
    drawing.legend(ax, entries)
    drawing.save(fig, folder / "map_aoi.png")
    return MapImage("aoi", "map_aoi.png", "Area of interest and chips", drawn.mode, note)


def split_codes(split: np.ndarray) -> tuple[np.ndarray, list[str], list[str]]:
    """(code per chip, names, colours): train, val, test, gap, then any other value."""
    names = [s for s in SPLIT_ORDER if (split == s).any()]
    names += sorted(set(split.tolist()) - set(SPLIT_ORDER))
    codes = np.full(len(split), -1, dtype=np.int64)
    for code, name in enumerate(names):
        codes[split == name] = code
    return codes, names, [SPLIT_COLORS.get(n, OTHER_SPLIT) for n in names]


def split_map(inputs: ReportInputs, folder: Path, max_polygons: int) -> MapImage | None:
    chips = inputs.chips
    if chips.split is None:
        return None
    codes, names, colors = split_codes(chips.split)
    fig, ax = drawing.new_map(_extent(inputs), "Chips by split")
    priority = [1.0 if n == "gap" else 0.0 for n in names]  # a thin gap stays visible when aggregated
    drawn = drawing.draw_chips(ax, chips.bounds, codes, colors, chips.geometry, max_polygons, priority)
    drawing.legend(ax, [(f"{n} ({(codes == i).sum():,})", c) for i, (n, c) in enumerate(zip(names, colors))], "split")
    drawing.save(fig, folder / "map_split.png")
    return MapImage("split", "map_split.png", "Chips by split", drawn.mode)


def class_map(inputs: ReportInputs, folder: Path, max_polygons: int) -> MapImage | None:
    chips, labels = inputs.chips, inputs.labels
    if labels is None or chips.shares is None or not len(chips.keys):
        return None
    dominant = chips.dominant()
    present = [i for i in range(len(chips.keys)) if (dominant == i).any()]
    names_colors = [labels.describe(chips.keys[i]) for i in present]
    codes = np.full(len(chips), len(present), dtype=np.int64)  # no proportions: the last colour
    for code, index in enumerate(present):
        codes[dominant == index] = code
    colors = [c for _, c in names_colors] + [NO_CLASS]
    fig, ax = drawing.new_map(_extent(inputs), f"Dominant class of {labels.name}")
    drawn = drawing.draw_chips(ax, chips.bounds, codes, colors, chips.geometry, max_polygons, edge=None)
    entries = [(f"{n} ({(codes == i).sum():,})", c) for i, (n, c) in enumerate(names_colors)]
    missing = int((codes == len(present)).sum())
    if missing:
        entries.append((f"no proportions ({missing:,})", NO_CLASS))
    drawing.legend(ax, entries, "dominant class")
    drawing.save(fig, folder / "map_classes.png")
    return MapImage("classes", "map_classes.png", f"Dominant label class ({labels.name})", drawn.mode)


def foreign_map(inputs: ReportInputs, folder: Path, max_polygons: int) -> MapImage | None:
    foreign = inputs.foreign
    if foreign is None:
        return None
    chips, units = inputs.chips, foreign.units
    fig, ax = drawing.new_map(_extent(inputs), f"Foreign units {foreign.name} over the chips")
    drawn = drawing.draw_chips(
        ax,
        chips.bounds,
        np.zeros(len(chips), dtype=np.int64),
        [drawing.CHIP_FILL],
        chips.geometry,
        max_polygons,
        edge=None,
    )
    note = ""
    if units.geometry is not None:
        drawing.draw_outlines(ax, units.geometry, "#54278f", 0.8)
    else:  # too many units to outline: their centres, aggregated like chips
        drawing.raster_chips(ax, units.bounds, np.zeros(len(units), dtype=np.int64), ["#54278f"], zorder=3)
        note = f"{len(units):,} units: their centres are drawn (above report.max_polygons)"
    drawing.legend(
        ax,
        [(f"chips ({len(chips):,})", drawing.CHIP_FILL), (f"{foreign.name} ({len(units):,} units)", "#54278f", "line")],
    )
    drawing.save(fig, folder / "map_foreign.png")
    return MapImage("foreign", "map_foreign.png", f"Foreign units ({foreign.name})", drawn.mode, note)


def failure_map(inputs: ReportInputs, folder: Path, max_polygons: int) -> MapImage | None:
    failed = failed_mask(inputs)
    if not failed.any():
        return None
    chips = inputs.chips
    codes = failed.astype(np.int64)
    fig, ax = drawing.new_map(_extent(inputs), "Download failures")
    drawn = drawing.draw_chips(
        ax, chips.bounds, codes, [DONE, FAILED], chips.geometry, max_polygons, [0.0, 1.0], edge="auto"
    )
    if failed.sum() <= MAX_MARKERS:
        centres = chips.centres[failed]
        ax.scatter(centres[:, 0], centres[:, 1], s=14, marker="x", c="#67000d", linewidths=0.9, zorder=5)
    drawing.legend(
        ax, [(f"failed in a dataset ({int(failed.sum()):,})", FAILED), (f"no failure ({int((~failed).sum()):,})", DONE)]
    )
    drawing.save(fig, folder / "map_failures.png")
    return MapImage("failures", "map_failures.png", "Download failures", drawn.mode)
