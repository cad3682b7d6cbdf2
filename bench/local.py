"""Local-raster benchmark: a 1,000-chip grid over a 20,000 x 20,000 pixel GeoTIFF.

    python bench/local.py [--keep DIR]

Writes a tiled, deflate-compressed 20,000 x 20,000 uint8 GeoTIFF (EPSG:32632, 10 m pixels, a
200 km square, written in strips so the writer never holds it whole), then runs
``python -m geetiles`` with ``source=local`` over a grid of about 1,000 chips of 1000 m at 10 m
per pixel, in a child process. Reports the download stage's time, the whole process's time and
the peak memory of the largest process. Figure to reach (issue 4): <= 20 s and <= 1 GiB.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
SIZE, PIXEL, ORIGIN_X, ORIGIN_Y = 20_000, 10.0, 400_000.0, 5_600_000.0


def write_big_raster(path: Path) -> None:
    import rasterio
    from affine import Affine

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=1,
        dtype="uint8",
        crs="EPSG:32632",
        transform=Affine(PIXEL, 0, ORIGIN_X, 0, -PIXEL, ORIGIN_Y),
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
        zlevel=1,
    ) as dataset:
        cols = np.arange(SIZE)
        for top in range(0, SIZE, 1024):
            rows = np.arange(top, min(top + 1024, SIZE))[:, None]
            strip = ((cols // 37 + rows // 53) % 11 * 20 + (cols + rows) % 7).astype(np.uint8)
            dataset.write(strip, 1, window=((top, top + len(rows)), (0, SIZE)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="reuse/keep the raster in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    raster = folder / "big.tif"
    if not raster.exists():
        started = time.monotonic()
        write_big_raster(raster)
        print(f"wrote {raster} ({raster.stat().st_size / 2**20:.0f} MiB) in {time.monotonic() - started:.1f} s")
    # about 32 x 32 km inside the raster (zone 32N, around 7.7E 50.3N) -> ~1000 chips of 1000 m
    bbox = "[7.60,50.35,8.05,50.64]"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "geetiles",
            "source=local",
            f"source.dataset={raster}",
            "source.pixels_lonlat=null",
            "source.meters_per_pixel=10",
            "labels=none",
            "aoi=bbox",
            f"aoi.bbox={bbox}",
            "aoi.name=big",
            f"data_dir={folder}/out",
            f"hydra.run.dir={folder}/run",
            "download.progress=none",
            "download.skip_if_exists=false",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=folder,
    )
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.exit(result.stderr[-2000:])
    summary = re.search(
        r"big: (\d+) done, \d+ skipped, (\d+) failed.*?, ([\d.]+) s, ([\d.]+) tiles/s", result.stdout + result.stderr
    )
    print(
        f"{summary.group(1)} chips ({summary.group(2)} failed): download stage {summary.group(3)} s "
        f"({summary.group(4)} chips/s); whole process {elapsed:.1f} s; peak RSS of the largest process "
        f"{max(after.ru_maxrss, before.ru_maxrss) / 1024:.0f} MiB [targets <= 20 s, <= 1024 MiB]"
    )


if __name__ == "__main__":
    main()
