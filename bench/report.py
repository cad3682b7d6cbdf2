"""Speed and memory of the report stage.

    python bench/report.py WORKDIR

Setup (not timed, kept in WORKDIR for reruns):
- Luxembourg: `geet grid` on ../shared/data/luxembourg.wkt at 1000 m (2774 chips), 100x100-pixel images
  and labels from the offline demo sources, proportions and a blocks split, all through `python -m geetiles`.
- A million chips: 100 m lon/lat boxes over about 1° x 1° near Luxembourg, written with write_tiles, with a
  synthetic `split` (5 km blocks: train, val, test and a gap) and `{labels}_proportions` (five classes);
  no chip files (so no sample sheet and no download section).

Timed, each in a fresh process (the stage alone, in-process: reading, maps, chart, sheet, page; and the
whole `python -m geetiles stages=[report]` command for Luxembourg), peak RSS from getrusage:
1. Luxembourg, 2774 chips drawn as polygons, with the sample sheet. Target: <= 10 s.
2. 1,000,000 chips, drawn aggregated. Target: <= 60 s and <= 2 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from luxembourg import LUXEMBOURG, demo_download_split, luxembourg_grid  # noqa: E402  (bench/ is on sys.path)

ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
MILLION = 1_000_000
LABELS = "demo-landcover"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{result.stderr[-2000:]}")
    return result


def setup_luxembourg(work: Path) -> Path:
    tiles = luxembourg_grid(work, run)
    if (
        not (tiles.with_suffix("") / "demo-landcover" / "manifest.csv").exists()
        or not tiles.with_name(f"{tiles.stem}_splits_report.json").exists()
    ):
        demo_download_split(tiles, work, run)
    return tiles


def setup_million(work: Path) -> Path:
    """1,000,000 boxes of 100 m (in lon/lat) over ~1° x 1°, split by 5 km blocks, with proportions."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from geetiles.tiles import write_tiles

    tiles = work / "m_partitions_boxes_0000000000000.geojson"
    if tiles.exists() and tiles.with_suffix(".parquet").exists():
        return tiles
    work.mkdir(parents=True, exist_ok=True)
    lat0, lon0 = 49.4, 5.7
    step_lat = 100 / 111_320
    step_lon = 100 / (111_320 * np.cos(np.radians(lat0 + 0.5)))
    nx = int(round(1.0 / step_lon))
    index = np.arange(MILLION)
    col, row = index % nx, index // nx
    x, y = lon0 + col * step_lon, lat0 + row * step_lat
    rng = np.random.default_rng(0)
    blocks = (col // 50) * 100_003 + row // 50  # 5 km blocks
    block_split = np.array(["train", "val", "test"])[rng.choice(3, blocks.max() + 1, p=[0.7, 0.15, 0.15])]
    split = block_split[blocks].astype(object)
    edge = (col % 50 == 0) | (row % 50 == 0)  # one chip of gap around every block
    split[edge] = "gap"
    keys = ["10", "30", "40", "50", "80"]
    smooth = np.sin(x * 20)[:, None] + np.cos(y * 17)[:, None] * np.arange(1, 6) / 3
    shares = rng.dirichlet(np.ones(5) * 0.5, MILLION) + np.clip(smooth, 0, None)
    shares = np.round(shares / shares.sum(axis=1, keepdims=True), 4)
    proportions = [{k: v for k, v in zip(keys, r) if v > 0} for r in shares.tolist()]
    frame = gpd.GeoDataFrame(
        {
            "identifier": [f"{i:013x}" for i in range(MILLION)],
            "area_km2": np.full(MILLION, 0.01),
            f"{LABELS}_proportions": proportions,
            "split": split,
        },
        geometry=shapely.box(x, y, x + step_lon, y + step_lat),
        crs="EPSG:4326",
    )
    write_tiles(frame, tiles)
    return tiles


def measure(tiles: Path, images: str | None) -> dict:
    """In this (fresh) process: the report stage alone; elapsed seconds and peak RSS."""
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment
    from geetiles.runner import run_experiment

    overrides = [
        "stages=[report]",
        f"report.tiles_file={tiles}",
        "source=demo" if images else "source=none",
        "labels=demo",
        f"data_dir={tiles.parent}",
    ]
    experiment = Experiment.from_config(compose(overrides), command="bench")
    started = time.perf_counter()
    run_experiment(experiment)
    elapsed = time.perf_counter() - started
    return {"elapsed_s": elapsed, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def child(tiles: Path, images: bool) -> dict:
    result = run([sys.executable, __file__, "--measure", str(tiles)] + (["--images"] if images else []), tiles.parent)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path, nargs="?")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--images", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--setup-million", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup_million:
        print(setup_million(args.setup_million.resolve()))
        return
    if args.measure:
        print(json.dumps(measure(args.measure.resolve(), "demo-imagery" if args.images else None)))
        return
    if args.workdir is None:
        parser.error("give a WORKDIR")
    if not LUXEMBOURG.exists():
        sys.exit(f"{LUXEMBOURG} is missing")
    work = args.workdir.resolve()
    lux = setup_luxembourg(work / "lux")
    runs = [child(lux, True) for _ in range(3)]
    median = statistics.median(r["elapsed_s"] for r in runs)
    started = time.perf_counter()
    run(
        [
            sys.executable,
            "-m",
            "geetiles",
            "stages=[report]",
            f"report.tiles_file={lux}",
            "source=demo",
            "labels=demo",
            f"hydra.run.dir={work}/runs",
        ],
        work,
    )
    command = time.perf_counter() - started
    each = ", ".join(f"{r['elapsed_s']:.2f}" for r in runs)
    print(
        f"Luxembourg report, 2774 chips (polygons, sample sheet): stage {median:.2f} s median "
        f"({each}), whole command {command:.2f} s, "
        f"peak {max(r['peak_rss_gib'] for r in runs):.2f} GiB (target <= 10 s)"
    )
    started = time.perf_counter()
    # in a child: a child forked from a process that held the million chips would inherit its peak RSS
    made = run([sys.executable, __file__, "--setup-million", str(work / "million")], work)
    million = Path(made.stdout.strip().splitlines()[-1])
    print(f"(setup: the million-chip tiles file in {time.perf_counter() - started:.0f} s)")
    runs = [child(million, False) for _ in range(2)]
    each = ", ".join(f"{r['elapsed_s']:.1f}" for r in runs)
    print(
        f"1,000,000-chip report (aggregated): stage {statistics.median(r['elapsed_s'] for r in runs):.1f} s median "
        f"({each}), peak {max(r['peak_rss_gib'] for r in runs):.2f} GiB "
        "(targets <= 60 s, <= 2 GiB)"
    )


if __name__ == "__main__":
    main()
