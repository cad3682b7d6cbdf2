"""Speed and memory of the split strategies, guard gap included.

    python bench/split.py                 # Luxembourg, then 1,000,000 chips
    python bench/split.py --skip-million  # Luxembourg only

Each strategy runs from lon/lat chips: the local metric plane, true centres and polygons in metres
(project_chips), weights by area, the strategy (fractions 70/15/15), the guard gap with
buffer_m=1000, then the leakage report (timed apart: it is a report, not the split).

1. Luxembourg (../shared/data/luxembourg.wkt): the 1000 m grid (2774 chips), in-process, median of
   5 runs. Target: <= 0.5 s per strategy including centres, projection and gap.
2. 1,000,000 chips: 100 m squares of a UTM 32N grid (a 1000 x 1000 lattice over 100 km x 100 km
   around 6.5E 49.5N) stored as lon/lat boxes. Target: <= 15 s per strategy and <= 2 GiB peak
   resident memory of the process (the chips themselves included).

Wall seconds and, in brackets, CPU seconds of this process (on a shared machine the two differ).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import shapely

LUXEMBOURG = Path(__file__).resolve().parents[2] / "shared" / "data" / "luxembourg.wkt"
FRACTIONS = (0.7, 0.15, 0.15)
BUFFER_M = 1000.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds of each named step."""

    def __init__(self):
        self.steps: dict[str, tuple[float, float]] = {}

    def __call__(self, name, fn, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(*args, **kwargs)
        self.steps[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    def total(self, *names) -> tuple[float, float]:
        return tuple(sum(self.steps[n][i] for n in names) for i in (0, 1))


def strategies(cell_groups: np.ndarray) -> dict:
    from geetiles.split.bands import band_split
    from geetiles.split.blocks import block_split
    from geetiles.split.groups import group_by, group_split
    from geetiles.split.random_split import random_split

    return {
        "random": lambda c, w: random_split(len(w), w, FRACTIONS, seed=0),
        "bands 30deg 10km": lambda c, w: band_split(c, w, FRACTIONS, 30.0, band_width_m=10_000, seed=0),
        "blocks random 10km": lambda c, w: block_split(c, w, FRACTIONS, 10_000, "random", seed=0),
        "blocks checkerboard 10km": lambda c, w: block_split(c, w, FRACTIONS, 10_000, "checkerboard", seed=0),
        "groups (7 km cells)": lambda c, w: group_split(cell_groups, w, FRACTIONS, seed=0),
        "bands + group_by": lambda c, w: group_by(
            band_split(c, w, FRACTIONS, 30.0, band_width_m=10_000, seed=0), cell_groups, w
        ),
    }


def run(geometry: np.ndarray, name: str, strategy) -> tuple[Clock, np.ndarray, dict]:
    from geetiles.split.codes import achieved_fractions
    from geetiles.split.gap import guard_gap, leakage_distances
    from geetiles.split.metric import project_chips

    clock = Clock()
    _, centres, polygons = clock("project", project_chips, geometry)
    weights = clock("weights", shapely.area, polygons)
    codes = clock("strategy", strategy, centres, weights)
    gapped = clock("gap", guard_gap, polygons, codes, BUFFER_M)
    report = clock("leakage", leakage_distances, polygons, gapped, BUFFER_M)
    report["fractions"] = achieved_fractions(codes, weights).round(4).tolist()
    report["gap"] = float(np.mean(gapped == 3))
    return clock, gapped, report


def cell_labels(geometry: np.ndarray, size_m: float) -> np.ndarray:
    from geetiles.split.metric import chip_centres

    c = chip_centres(geometry)
    i, j = np.floor(c[:, 0] / size_m).astype(int), np.floor(c[:, 1] / size_m).astype(int)
    return np.char.add(np.char.add(i.astype(str), "_"), j.astype(str)).astype(object)


def describe(name: str, clock: Clock, report: dict, runs: int = 1) -> str:
    wall, cpu = clock.total("project", "weights", "strategy", "gap")
    parts = ", ".join(f"{k} {w:.2f} [{c:.2f}]" for k, (w, c) in clock.steps.items())
    leak = (
        f"min {report['min_m']:.0f} m, p5 {report['p5_m']:.0f} m, median {report['median_m']:.0f} m"
        if report["min_m"] is not None
        else "nothing to measure"
    )
    return (
        f"  {name:26s} split {wall:6.2f} s [{cpu:.2f}]  ({parts}); fractions {report['fractions']}, "
        f"gap {report['gap']:.1%}; leakage {leak}"
    )


def luxembourg() -> None:
    from geetiles.tiling.grid import grid_chips

    if not LUXEMBOURG.exists():
        print(f"{LUXEMBOURG} is missing: Luxembourg skipped")
        return
    geometry = np.asarray(grid_chips(shapely.from_wkt(LUXEMBOURG.read_text()), 1000, 10**8).geometry)
    groups = cell_labels(geometry, 7000)
    print(f"luxembourg: {len(geometry)} chips, buffer {BUFFER_M:.0f} m, median of 5 runs (target <= 0.5 s)")
    for name, strategy in strategies(groups).items():
        clocks = [run(geometry, name, strategy) for _ in range(5)]
        totals = [c.total("project", "weights", "strategy", "gap")[0] for c, _, _ in clocks]
        middle = clocks[int(np.argsort(totals)[len(totals) // 2])]
        print(describe(name, middle[0], middle[2]))
        assert all(np.array_equal(clocks[0][1], c[1]) for c in clocks), "not deterministic"


def million_chips() -> np.ndarray:
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    to_lonlat = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    cx, cy = to_utm.transform(6.5, 49.5)
    side, size = 1000, 100.0
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = np.round(cx - side * size / 2) + i.ravel() * size
    y = np.round(cy - side * size / 2) + j.ravel() * size
    lon0, lat0 = to_lonlat.transform(x, y)
    lon1, lat1 = to_lonlat.transform(x + size, y + size)
    return shapely.box(lon0, lat0, lon1, lat1)


def million() -> None:
    started = time.perf_counter()
    geometry = million_chips()
    groups = cell_labels(geometry, 7000)
    print(
        f"million: {len(geometry)} chips made in {time.perf_counter() - started:.1f} s, "
        f"process at {peak_mib():.0f} MiB; buffer {BUFFER_M:.0f} m (target <= 15 s, <= 2048 MiB)",
        flush=True,
    )
    for name, strategy in strategies(groups).items():
        clock, _, report = run(geometry, name, strategy)
        print(describe(name, clock, report) + f"; peak {peak_mib():.0f} MiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    luxembourg()
    if not args.skip_million:
        million()


if __name__ == "__main__":
    sys.exit(main())
