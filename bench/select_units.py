"""Selecting a country's units from a continent-wide file (issue: tilings II): `geet select`, whole process.

    python bench/select_units.py              # 120,000 synthetic communes over Europe, 5 runs
    python bench/select_units.py --runs 10 --format fgb

Eurostat's communes file (~120,000 polygons) is not reachable here, so the units are 120,000
Voronoi cells of seeded random points over Europe (-10..32 E, 35..71 N), each with a name and a
population column, written once (GeoPackage with its spatial index, or FlatGeobuf) under
/tmp/geetiles-bench-units/. Each run is `geet select` of Luxembourg's units (../shared/data/luxembourg.wkt)
as a fresh process; the figure is its wall time. Target: <= 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LUXEMBOURG = Path(__file__).resolve().parents[2] / "shared" / "data" / "luxembourg.wkt"
CACHE = Path(tempfile.gettempdir()) / "geetiles-bench-units"


def units_file(count: int, fmt: str) -> Path:
    path = CACHE / f"europe-{count}.{fmt}"
    if path.exists():
        return path
    import geopandas as gpd
    import numpy as np
    import shapely

    rng = np.random.default_rng(0)
    points = shapely.multipoints(np.column_stack([rng.uniform(-10, 32, count), rng.uniform(35, 71, count)]))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(points)), shapely.box(-10, 35, 32, 71))
    frame = gpd.GeoDataFrame(
        {"name": [f"commune {i}" for i in range(len(cells))], "population": rng.integers(100, 100_000, len(cells))},
        geometry=cells,
        crs="EPSG:4326",
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    frame.to_file(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=120_000)
    parser.add_argument("--format", choices=["gpkg", "fgb"], default="gpkg")
    args = parser.parse_args()
    if not LUXEMBOURG.exists():
        raise SystemExit(f"{LUXEMBOURG} is missing")
    started = time.perf_counter()
    source = units_file(args.count, args.format)
    print(f"units: {source} ({source.stat().st_size / 2**20:.0f} MB, ready in {time.perf_counter() - started:.1f} s)")
    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            command = [
                sys.executable,
                "-m",
                "geetiles.cli.geet",
                "select",
                "--orig_shapefile",
                str(source),
                "--aoi_wkt_file",
                str(LUXEMBOURG),
                "--tiles_name",
                "communes",
                "--aoi_name",
                "lux",
                "--dest_dir",
                folder,
            ]
            began = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True)
            times.append(time.perf_counter() - began)
            if result.returncode != 0:
                raise SystemExit(result.stderr)
            import geopandas as gpd

            count = len(gpd.read_file(next(Path(folder).glob("lux_partitions_communes_*.geojson"))))
    print(
        f"geet select, Luxembourg from {args.count} units ({args.format}): {count} units selected; "
        f"median {statistics.median(times):.2f} s, min {min(times):.2f}, max {max(times):.2f} (target <= 3 s)"
    )


if __name__ == "__main__":
    main()
