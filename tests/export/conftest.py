"""The shared demo run (tests/conftest.py: 16 chips downloaded through the engine with their
manifests), copied into each test's folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def dataset(demo_pipeline, tmp_path) -> Path:
    """A copy of the shared demo run's data folder (tests/conftest.py): the tiles file (split,
    proportions) and both chip folders, without the run's own dataset and report folders."""
    target = tmp_path / "data"
    shutil.copytree(demo_pipeline[0], target, ignore=shutil.ignore_patterns("*_dataset", "*_report"))
    [tiles] = target.glob("t_partitions_aschips_*.geojson")
    return tiles


@pytest.fixture(scope="module")
def exported_demo(demo_pipeline, tmp_path_factory) -> Path:
    """The shared demo run's chips exported once per module (export=geotiff: COGs, index, STAC, Croissant);
    returns the dataset folder. Tests only read it."""
    from tests.export.test_stage import export

    target = tmp_path_factory.mktemp("exported") / "data"
    shutil.copytree(demo_pipeline[0], target, ignore=shutil.ignore_patterns("*_dataset", "*_report"))
    [tiles] = target.glob("t_partitions_aschips_*.geojson")
    export(tiles)
    return tiles.with_name(f"{tiles.stem}_dataset")
