"""Speed of `geet mosaic` (and of `geet cleanup` on the same folder).

    python bench/mosaic.py WORKDIR [--meters_per_pixel 10] [--runs 3]

Setup (not timed, kept in WORKDIR): `geet grid` on ../shared/data/luxembourg.wkt at 1000 m (2774
chips), then one synthetic 100x100 3-band uint8 GeoTIFF per chip over the chip's bbox (EPSG:4326,
tiled, Deflate, nodata 0, smooth per-chip patterns), written with rasterio into
`{tiles base}/synthetic/`.

Timed (whole process, as a user runs it; median of --runs):
1. `geet mosaic --basedir {chips} --dest_file {WORKDIR}/mosaic.tif --meters_per_pixel 10`
   (a 5688 x 8128 COG at 10 m). Target: <= 15 s on a 2-core machine.
2. `geet cleanup --basedir {chips}` (every chip readable: nothing removed).

The commands run as `geet ...`, or as `python -m geetiles.cli.geet ...` when no `geet` is on the PATH.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from luxembourg import luxembourg_grid  # noqa: E402  (bench/ is on sys.path)

ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{result.stderr[-2000:]}")
    return result


def tool(command: str) -> list[str]:
    """`geet COMMAND` when geet has it, else the tools' own entry point."""
    probe = subprocess.run(["geet", command, "--help"], env=ENV, capture_output=True, text=True)
    if probe.returncode == 0:
        return ["geet", command]
    return [sys.executable, "-m", "geetiles.cli.geet", command]


def setup(work: Path) -> Path:
    """The chip folder (2774 synthetic chips), made once."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds

    from geetiles.tiles import load_tiles

    tiles_file = luxembourg_grid(work, run)
    chips = tiles_file.with_suffix("") / "synthetic"
    tiles = load_tiles(tiles_file)
    if len(list(chips.glob("*.tif"))) == len(tiles):
        return chips
    chips.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    ramp = np.add.outer(np.arange(100), np.arange(100)) // 4
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
        for i, (identifier, bounds) in enumerate(zip(tiles["identifier"], tiles.geometry.bounds.to_numpy())):
            array = np.stack([(ramp + 37 * i + 60 * b) % 250 + 1 for b in range(3)]).astype(np.uint8)
            with rasterio.open(
                chips / f"{identifier}.tif",
                "w",
                driver="GTiff",
                width=100,
                height=100,
                count=3,
                dtype="uint8",
                crs="EPSG:4326",
                transform=from_bounds(*bounds, 100, 100),
                nodata=0,
                tiled=True,
                blockxsize=112,
                blockysize=112,
                compress="deflate",
            ) as dataset:
                dataset.write(array)
    print(f"setup: {len(tiles)} chips written in {time.monotonic() - began:.1f} s → {chips}")
    return chips


def timed(args: list[str], cwd: Path, runs: int) -> tuple[float, list[float], str]:
    times, last = [], ""
    for _ in range(runs):
        began = time.monotonic()
        last = run(args, cwd).stdout.strip().splitlines()[-1]
        times.append(time.monotonic() - began)
    return statistics.median(times), times, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--meters_per_pixel", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = args.workdir.resolve()
    chips = setup(work)
    count = len(list(chips.glob("*.tif")))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    median, times, line = timed(
        [
            *tool("mosaic"),
            "--basedir",
            str(chips),
            "--dest_file",
            str(work / "mosaic.tif"),
            "--meters_per_pixel",
            f"{args.meters_per_pixel:g}",
        ],
        work,
        args.runs,
    )
    print(
        f"mosaic: {count} chips in {median:.1f} s (median; runs {', '.join(f'{t:.1f}' for t in times)}; target <= 15 s)"
    )
    print(f"  {line}")
    median, times, line = timed([*tool("cleanup"), "--basedir", str(chips)], work, args.runs)
    print(f"cleanup: {count} chips checked in {median:.1f} s (median; runs {', '.join(f'{t:.1f}' for t in times)})")
    print(f"  {line}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
