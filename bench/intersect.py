"""Speed and memory of intersect (issue: tilings II): chips × foreign units → largest overlap.

    python bench/intersect.py                 # Luxembourg, then 1,000,000 chips x 100,000 units
    python bench/intersect.py --skip-million  # Luxembourg only

1. Luxembourg (../shared/data/luxembourg.wkt): the 1000 m grid (2774 chips) against random pieces of
   at most 15 km (seed 0), in-process, the overlap computation alone and the whole stage on files
   (read both tiles files, compute, write the column into the GeoJSON and its twin). Target: the
   computation <= 0.3 s (geetiles 0.1.7: 11 s for 41 units).
2. 1,000,000 chips (a 1000 x 1000 lattice of 0.001 degree boxes) against 100,000 Voronoi cells of
   random points over the same square: seconds and peak resident memory of the process (the
   chips and units themselves included). Target: <= 60 s and <= 4 GiB.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

LUXEMBOURG = Path(__file__).resolve().parents[2] / "shared" / "data" / "luxembourg.wkt"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def luxembourg() -> None:
    from geetiles.foreign.intersect import intersect_files
    from geetiles.overlap import largest_overlap
    from geetiles.tiles import write_tiles
    from geetiles.tiling.grid import grid_chips
    from geetiles.tiling.ids import list_hash
    from geetiles.tiling.katana import katana_chips

    if not LUXEMBOURG.exists():
        print(f"{LUXEMBOURG} is missing: Luxembourg skipped")
        return
    aoi = shapely.from_wkt(LUXEMBOURG.read_text())
    chips = grid_chips(aoi, 1000, 10**8)
    units = katana_chips(aoi, 15000, 0)
    times = []
    for _ in range(7):
        started = time.perf_counter()
        largest_overlap(np.asarray(chips.geometry), np.asarray(units.geometry))
        times.append(time.perf_counter() - started)
    print(
        f"luxembourg: {len(chips)} chips x {len(units)} units: overlap computation median "
        f"{statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}; target <= 0.3 s)"
    )
    with tempfile.TemporaryDirectory() as folder:
        tiles = Path(folder) / f"lux_partitions_aschips_{list_hash(chips.identifier)}.geojson"
        foreign = Path(folder) / f"lux_partitions_15k_{list_hash(units.identifier)}.geojson"
        write_tiles(units.to_geodataframe(), foreign)
        stage = []
        for _ in range(3):
            write_tiles(chips.to_geodataframe(), tiles)
            started = time.perf_counter()
            intersect_files(tiles, foreign)
            stage.append(time.perf_counter() - started)
        print(
            "luxembourg: whole stage on files (read, compute, write GeoJSON + twin) "
            f"median {statistics.median(stage):.2f} s"
        )


def million() -> None:
    from geetiles.overlap import largest_overlap

    started = time.perf_counter()
    side = 1000
    x, y = np.meshgrid(6 + np.arange(side) * 0.001, 49 + np.arange(side) * 0.001, indexing="ij")
    chips = shapely.box(x.ravel(), y.ravel(), x.ravel() + 0.001, y.ravel() + 0.001)
    rng = np.random.default_rng(0)
    region = shapely.box(6, 49, 7, 50)
    points = shapely.multipoints(np.column_stack([rng.uniform(6, 7, 100_000), rng.uniform(49, 50, 100_000)]))
    units = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(points)), region)
    made = time.perf_counter() - started
    print(
        f"million: {len(chips)} chips and {len(units)} units made in {made:.1f} s, process at {peak_mib():.0f} MiB",
        flush=True,
    )
    started = time.perf_counter()
    best = largest_overlap(chips, units)
    seconds = time.perf_counter() - started
    print(
        f"million: {len(chips)} chips x {len(units)} units: {seconds:.1f} s (target <= 60 s), "
        f"peak {peak_mib():.0f} MiB (target <= 4096), {(best >= 0).mean():.1%} matched"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    luxembourg()
    if not args.skip_million:
        million()


if __name__ == "__main__":
    sys.exit(main())
