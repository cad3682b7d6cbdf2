"""The proportions stage inside a run: after the download, on the run's labels."""

import geopandas as gpd

from tests.conftest import files_under, geetiles_cmd
from tests.in_process import run_in_process


def test_a_demo_run_has_proportions_of_its_labels(demo_pipeline):
    """The shared demo run (tests/conftest.py): download, then proportions, then split, export, report."""
    [tiles] = demo_pipeline[0].glob("t_partitions_aschips_*.geojson")
    frame = gpd.read_parquet(tiles.with_suffix(".parquet"))
    assert len(frame) >= 4
    shares = frame["demo-landcover_proportions"].tolist()
    assert all(abs(sum(__import__("json").loads(s).values()) - 1) < 1e-9 for s in shares)
    assert (frame["demo-landcover_valid_frac"] == 1.0).all()
    wide = [c for c in frame.columns if c.startswith("demo-landcover_class_")]
    assert wide and abs(frame[wide].sum(axis=1) - 1).max() < 1e-9
    assert tiles.with_name(f"{tiles.stem}.demo-landcover_proportions.geetiles.yaml").exists()


def test_mixing_this_runs_units_needs_their_proportions_first(tmp_path):
    result = run_in_process(
        geetiles_cmd("experiment=lux-units", "source=none", "labels=demo", "proportions.from_foreign=true"), tmp_path
    )
    assert result.returncode == 2 and "proportions=earthengine computes them" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not files_under(tmp_path / "outputs" / "data")


def test_a_local_labels_raster_with_declared_classes_gets_proportions(tmp_path, ray_session):
    """labels=local: the classes come with the config (labels.classes), through the download record."""
    import numpy as np

    from tests.proportions.synthetic import write_chip

    values = np.ones((200, 200), dtype=np.uint8)
    values[:, 100:] = 2  # east of 6.02 E is class 2
    raster = write_chip(tmp_path / "landcover.tif", values, (6.0, 49.6, 6.04, 49.62))
    result = run_in_process(
        geetiles_cmd(
            "stages=[aoi,tiling,download,proportions]",
            "aoi=bbox",
            "aoi.bbox=[6.0,49.6,6.04,49.62]",
            "aoi.name=t",
            "tiling=utm",
            "source=none",
            "labels=local",
            f"labels.dataset={raster}",
            "labels.classes=[{code:1,name:west},{code:2,name:east}]",
            "download.progress=none",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [tiles] = (tmp_path / "outputs" / "data").glob("t_partitions_utmchips_*.geojson")
    frame = gpd.read_parquet(tiles.with_suffix(".parquet"))
    assert set(frame.columns) >= {
        "landcover_proportions",
        "landcover_valid_frac",
        "landcover_class_1",
        "landcover_class_2",
    }
    assert (abs(frame["landcover_class_1"] + frame["landcover_class_2"] - 1) < 1e-9).all()
    assert frame["landcover_class_1"].max() == 1.0 and frame["landcover_class_2"].max() == 1.0
