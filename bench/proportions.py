"""Speed of the proportions stage and of lp.from_foreign.

    python bench/proportions.py WORKDIR                 # Luxembourg, then 100,000 chips
    python bench/proportions.py WORKDIR --skip-100k     # Luxembourg only

Setup (not timed, kept in WORKDIR so reruns skip it): chips and their 100x100-pixel label chips from
the offline demo source (synthetic land cover, uint8, nodata 0), written by the download stage.

1. Luxembourg: `geet grid` on ../shared/data/luxembourg.wkt at 1000 m (2774 chips, as 0.1.7's README),
   labels downloaded. Timed: the stage in-process (`compute_file`: load the tiles file, read and count
   every chip, write the columns), median of 5 runs; and `geet lp.compute` as a whole process
   (start-up included), median of 3. Target: <= 2 s for the stage (0.1.7: 21 s).
2. lp.from_foreign: the same 2774 chips against 0.1.7-style random pieces of at most 20 km over the
   same AOI (`geet random`, seed 0), whose own proportions come first from their labels; timed: the mix
   in-process (load both files, overlaps in m², write), median of 5. Target: <= 1 s (0.1.7: 20 s).
3. 100,000 chips: a 1000 m grid over a 4.3° x 2.6° box around 10E 47.5N (94,119 chips), labels downloaded (about
   two minutes of setup). Timed: the stage in-process with the default workers (one per core).
   Target: >= 3,000 chips/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

LUXEMBOURG = Path(__file__).resolve().parents[2] / "shared" / "data" / "luxembourg.wkt"
ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


def run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"setup failed: {' '.join(args)}\n{result.stderr[-2000:]}")


def tiles_in(folder: Path, token: str) -> Path:
    [path] = sorted(folder.glob(f"*_partitions_{token}_*.geojson"))
    return path


def download_labels(tiles: Path, cwd: Path) -> None:
    if (tiles.with_suffix("") / "demo-landcover" / "manifest.csv").exists():
        return
    run(
        [
            sys.executable,
            "-m",
            "geetiles",
            "stages=[download]",
            f"download.tiles_file={tiles}",
            "source=none",
            "labels=demo",
            "download.progress=none",
            f"hydra.run.dir={cwd}/runs",
        ],
        cwd,
    )


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def luxembourg(work: Path) -> None:
    from geetiles.proportions.foreign_mix import mix_from_foreign
    from geetiles.proportions.local import compute_file

    folder = work / "lux"
    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob("*_aschips_*.geojson")):
        run(
            [
                "geet",
                "grid",
                "--aoi_wkt_file",
                str(LUXEMBOURG),
                "--chip_size_meters",
                "1000",
                "--aoi_name",
                "lux",
                "--dest_dir",
                str(folder),
            ],
            folder,
        )
        run(
            [
                "geet",
                "random",
                "--aoi_wkt_file",
                str(LUXEMBOURG),
                "--max_rectangle_size_meters",
                "20000",
                "--aoi_name",
                "lux",
                "--dest_dir",
                str(folder),
                "--seed",
                "0",
            ],
            folder,
        )
    chips, units = tiles_in(folder, "aschips"), tiles_in(folder, "20k")
    download_labels(chips, folder)
    download_labels(units, folder)
    labels = chips.with_suffix("") / "demo-landcover"
    median, times = timed(lambda: compute_file(chips, labels, progress_mode="none"), 5)
    print(
        f"Luxembourg, stage in-process: {median:.2f} s median ({', '.join(f'{t:.2f}' for t in times)}), "
        f"{2774 / median:.0f} chips/s"
    )
    median, times = timed(
        lambda: run(
            ["geet", "lp.compute", "--tiles_file", str(chips), "--labels_dataset_def", "demo-landcover"], folder
        ),
        3,
    )
    print(f"Luxembourg, geet lp.compute whole process: {median:.2f} s median ({', '.join(f'{t:.2f}' for t in times)})")
    compute_file(units, units.with_suffix("") / "demo-landcover", progress_mode="none")
    from geetiles.tiles import load_tiles

    count = len(load_tiles(units))
    median, times = timed(lambda: mix_from_foreign(chips, units, "demo-landcover"), 5)
    print(
        f"lp.from_foreign, 2774 chips x {count} units, in-process: {median:.2f} s median "
        f"({', '.join(f'{t:.2f}' for t in times)})"
    )


def hundred_thousand(work: Path) -> None:
    from geetiles.proportions.local import compute_file

    folder = work / "100k"
    folder.mkdir(parents=True, exist_ok=True)
    if not list(folder.glob("*_aschips_*.geojson")):
        run(
            [
                sys.executable,
                "-m",
                "geetiles",
                "stages=[aoi,tiling]",
                "aoi=bbox",
                "aoi.bbox=[8.0,46.2,12.3,48.8]",
                "aoi.name=alps",
                f"data_dir={folder}",
                f"hydra.run.dir={folder}/runs",
            ],
            folder,
        )
    chips = tiles_in(folder, "aschips")
    download_labels(chips, folder)
    from geetiles.tiles import load_tiles

    count = len(load_tiles(chips))
    started = time.perf_counter()
    compute_file(chips, chips.with_suffix("") / "demo-landcover", progress_mode="none")
    elapsed = time.perf_counter() - started
    print(f"{count} chips, stage in-process (workers: one per core): {elapsed:.1f} s, {count / elapsed:.0f} chips/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--skip-100k", action="store_true")
    args = parser.parse_args()
    if not LUXEMBOURG.exists():
        sys.exit(f"{LUXEMBOURG} is missing")
    work = args.workdir.resolve()
    luxembourg(work)
    if not args.skip_100k:
        hundred_thousand(work)


if __name__ == "__main__":
    main()
