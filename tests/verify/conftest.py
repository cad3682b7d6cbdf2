"""Datasets to verify, exported from the shared demo run (tests/conftest.py: 16 chips of 24 x 24
pixels with labels, split train/val/test): the run's own ``export=geotiff`` folder, and a WebDataset-only
export of the same chips; each test gets its own copy to damage. Also the helpers that damage one thing
and fix every checksum that would otherwise catch it, so a test proves the one check that remains."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geetiles.runner import RunContext


def _export(tiles: Path, *overrides: str) -> None:
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment
    from geetiles.export import stage

    overrides = (
        "stages=[export]",
        f"export.tiles_file={tiles}",
        "source=demo",
        "labels=demo",
        "download.progress=none",
        f"data_dir={tiles.parent}",
        *overrides,
    )
    experiment = Experiment.from_config(compose(list(overrides)), command="test")
    stage.check(experiment)
    stage.run(experiment, RunContext())


@pytest.fixture(scope="session")
def exported(demo_pipeline, tmp_path_factory) -> dict[str, Path]:
    """{"geotiff": the demo run's dataset folder, "webdataset": a WebDataset-only export} (read only)."""
    [geotiff] = demo_pipeline[0].glob("t_partitions_aschips_*_dataset")
    data = tmp_path_factory.mktemp("verify") / "data"
    shutil.copytree(demo_pipeline[0], data, ignore=shutil.ignore_patterns("*_dataset", "*_report"))
    [tiles] = data.glob("t_partitions_aschips_*.geojson")
    webdataset = data / "wds_dataset"
    _export(tiles, "export=webdataset", f"export.dest={webdataset}", "export.min_shards=2")
    return {"geotiff": geotiff, "webdataset": webdataset}


@pytest.fixture
def dataset(exported, tmp_path) -> Path:
    """A copy of the geotiff dataset (images, labels, index, splits, card, manifest)."""
    return shutil.copytree(exported["geotiff"], tmp_path / "t_dataset", symlinks=True)


@pytest.fixture
def wds_dataset(exported, tmp_path) -> Path:
    """A copy of the WebDataset-only dataset (shards, shards.json, card, manifest)."""
    return shutil.copytree(exported["webdataset"], tmp_path / "wds_dataset", symlinks=True)


def identifiers(root: Path, split: str | None = None) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(root / "chips.parquet", columns=["identifier", "split"]).to_pylist()
    return [row["identifier"] for row in table if split is None or row["split"] == split]


def rewrite_parquet(path: Path, change) -> None:
    """Rewrite a Parquet file with ``change(rows) -> rows`` applied, its schema and metadata kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = change(table.to_pylist())
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    refresh_croissant_digest(path)


def refresh_croissant_digest(path: Path) -> None:
    """croissant.json records the index's SHA-256 (as the export writes it): a test that rewrites the index
    fixes that digest too, so only the check it aims at can catch the change."""
    import json

    from geetiles.export.folder import sha256_file

    croissant = path.parent / "croissant.json"
    if not croissant.exists():
        return
    document = json.loads(croissant.read_text())
    for entry in document.get("distribution", []):
        if entry.get("contentUrl") == path.name and "sha256" in entry:
            entry["sha256"] = sha256_file(path)
    croissant.write_text(json.dumps(document, indent=2))


def refresh_manifest(root: Path) -> None:
    """MANIFEST.sha256 made again from the files as they are now (as the export makes it)."""
    from geetiles.export.folder import write_manifest

    (root / "MANIFEST.sha256").unlink()
    write_manifest(root)


def problem_lines(report) -> list[str]:
    return [problem.line() for problem in report.problems]
