"""One small real dataset per session (the demo experiment over a few km², downloaded through the
engine with its manifests), copied into each test's folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import geetiles_cmd, run_cli

BBOX = "aoi.bbox=[6.0,49.6,6.06,49.64]"  # 16 chips of 1 km (the original grid), 24 x 24 pixels each


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    result = run_cli(geetiles_cmd("experiment=demo", "aoi=bbox", BBOX, "aoi.name=t", "export=none",
                                  "source.pixels_lonlat=[24,24]", "labels.pixels_lonlat=[24,24]",
                                  "split.block_size_m=2000", "download.progress=none"), folder, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "outputs" / "data"


@pytest.fixture
def dataset(demo_run, tmp_path) -> Path:
    """A copy of the demo run's data folder: the tiles file (split, proportions) and both chip folders."""
    target = tmp_path / "data"
    shutil.copytree(demo_run, target)
    [tiles] = target.glob("t_partitions_aschips_*.geojson")
    return tiles
