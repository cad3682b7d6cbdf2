"""The Luxembourg data the export, report, mosaic and proportions benches start from: 0.1.7's 1000 m
grid (``geet grid``) and, for the ones that need chips, the demo sources downloaded, their proportions
and a blocks split. Each step runs once per work folder and is skipped when its outputs are there."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

LUXEMBOURG = Path(__file__).resolve().parents[2] / "shared" / "data" / "luxembourg.wkt"

Run = Callable[[list[str], Path], object]  # each bench's own runner (its environment, its error exit)


def luxembourg_grid(work: Path, run: Run) -> Path:
    """The tiles file of ``geet grid`` over Luxembourg at 1000 m in ``work`` (made if absent)."""
    work.mkdir(parents=True, exist_ok=True)
    if not list(work.glob("*_aschips_*.geojson")):
        command = ["geet", "grid", "--aoi_wkt_file", str(LUXEMBOURG), "--chip_size_meters", "1000"]
        run([*command, "--aoi_name", "lux", "--dest_dir", str(work)], work)
    [tiles] = sorted(work.glob("*_aschips_*.geojson"))
    return tiles


def demo_download_split(tiles: Path, work: Path, run: Run) -> None:
    """The demo images and labels of every chip, their proportions and a 10 km blocks split."""
    stages = ("download", "proportions", "split")
    run(
        [
            sys.executable,
            "-m",
            "geetiles",
            f"stages=[{','.join(stages)}]",
            *(f"{stage}.tiles_file={tiles}" for stage in stages),
            "source=demo",
            "labels=demo",
            "split=blocks",
            "download.progress=none",
            f"hydra.run.dir={work}/runs",
        ],
        work,
    )
