"""Speed of the export formats and of the loader.

    python bench/export.py WORKDIR

Setup (not timed, kept in WORKDIR): `geet grid` on ../shared/data/luxembourg.wkt at 1000 m (2774
chips), 100x100-pixel images (3-band uint8) and labels (1-band uint8) from the offline demo sources,
proportions, and a blocks split, all through `python -m geetiles`.

Timed, each in-process and the median of 3 runs (the stage alone: selection and checksum
verification included):
1. export=geotiff (COGs, index, card, MANIFEST.sha256). Target: <= 10 s.
2. export=legacy_zip (geetiles 0.1.7's zip; 0.1.7 took 72 s for 2,496 chips). Target: <= 10 s.
3. export=webdataset. Target: >= 1,000 chips/s.
4. ChipDataset: every chip of the train split read twice (image, label, proportions, metadata),
   one process. Target: >= 2,000 chips/s.
"""

from __future__ import annotations

import argparse
import os
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


def run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"setup failed: {' '.join(args)}\n{result.stderr[-2000:]}")


def setup(work: Path) -> Path:
    tiles = luxembourg_grid(work, run)
    if (
        not (tiles.with_suffix("") / "demo-imagery" / "manifest.csv").exists()
        or "split" not in tiles.read_text()[:3000]
    ):
        demo_download_split(tiles, work, run)
    return tiles


def experiment(tiles: Path, fmt: str):
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment

    return Experiment.from_config(
        compose(
            [
                "stages=[export]",
                f"export.tiles_file={tiles}",
                "source=demo",
                "labels=demo",
                f"export={fmt}",
                "download.progress=none",
            ]
        ),
        command="bench",
    )


def time_export(tiles: Path, fmt: str) -> tuple[float, list[float]]:
    from geetiles.runner import run_experiment

    times = []
    for _ in range(3):
        started = time.perf_counter()
        run_experiment(experiment(tiles, fmt))
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path)
    args = parser.parse_args()
    if not LUXEMBOURG.exists():
        sys.exit(f"{LUXEMBOURG} is missing")
    tiles = setup(args.workdir.resolve())
    from geetiles.tiles import load_tiles

    count = len(load_tiles(tiles))
    for fmt in ("legacy_zip", "webdataset", "geotiff"):  # geotiff last: the loader reads its folder
        median, times = time_export(tiles, fmt)
        print(
            f"export={fmt}, {count} chips: {median:.2f} s median ({', '.join(f'{t:.2f}' for t in times)}), "
            f"{count / median:.0f} chips/s"
        )
    from geetiles.dataset import ChipDataset

    chips = ChipDataset(tiles.with_name(f"{tiles.stem}_dataset"), split="train")
    started = time.perf_counter()
    for _ in range(2):
        for index in range(len(chips)):
            chips[index]
    elapsed = time.perf_counter() - started
    print(f"ChipDataset train split, {len(chips)} chips read twice: {2 * len(chips) / elapsed:.0f} chips/s")


if __name__ == "__main__":
    main()
