"""The split stage and `geet split`: files as the original writes them, the guard gap on real
tilings, determinism, and bad input refused with one line and nothing written."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from geetiles.tiles import twin_path
from geetiles.tiling.ids import list_hash
from tests.conftest import geet_cmd, geetiles_cmd
from tests.in_process import run_in_process

ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "original017" / "files"
QUITO = "quito_partitions_aschips_266af64b36450"


def test_geet_split_writes_the_originals_splits_csv_byte_for_byte(tmp_path):
    tiles = tmp_path / f"{QUITO}.geojson"
    tiles.write_bytes((ORIGINAL / "intersect" / "quito-1000-x-coarse" / f"{QUITO}.geojson").read_bytes())
    result = run_in_process(
        geet_cmd(
            "split",
            "--tiles_file",
            tiles.name,
            "--nbands",
            "6",
            "--angle",
            "-0.6",
            "--train_pct",
            ".6",
            "--test_pct",
            ".2",
            "--val_pct",
            ".2",
            "--foreign_tiles_name",
            "coarse",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = ORIGINAL / "split" / "quito-1000-foreign" / f"{QUITO}_splits.csv"
    assert (tmp_path / f"{QUITO}_splits.csv").read_bytes() == expected.read_bytes()
    chips = gpd.read_file(tiles)
    assert list(chips.columns) == ["area_km2", "identifier", "foreignid_coarse", "split", "split_coarse", "geometry"]
    assert list(pq.read_table(twin_path(tiles)).column("split").to_pylist()) == list(chips["split"])
    assert tiles.name.endswith(f"_{list_hash(chips['identifier'])}.geojson")
    report = json.loads((tmp_path / f"{QUITO}_splits_report.json").read_text())
    assert report["counts"] == {name: int((chips["split"] == name).sum()) for name in ("train", "val", "test")}
    assert report["leakage"]["min_m"] > 0  # the original grid's chips are m - 1 metres: never touching


def _utm_run(folder: Path, *overrides: str):
    folder.mkdir(parents=True, exist_ok=True)
    return run_in_process(
        geetiles_cmd(
            "aoi=bbox",
            "aoi.bbox=[6.0,49.5,6.4,49.8]",
            "aoi.name=t",
            "tiling=utm",
            f"data_dir={folder}",
            f"hydra.run.dir={folder / 'run'}",
            "stages=[aoi,tiling,split]",
            *overrides,
        ),
        folder,
    )


def test_blocks_with_a_guard_gap_leave_no_val_or_test_chip_near_train(tmp_path):
    result = _utm_run(tmp_path, "split=blocks", "split.block_size_m=5000", "split.buffer_m=1500", "split.seed=3")
    assert result.returncode == 0, result.stderr[-2000:]
    tiles = next(tmp_path.glob("t_partitions_utmchips_*.geojson"))
    chips = gpd.read_file(tiles).to_crs("EPSG:32632")
    train = chips[chips["split"] == "train"]
    others = chips[chips["split"].isin(["val", "test"])]
    assert len(train) and len(others) and (chips["split"] == "gap").any()
    nearest = shapely.STRtree(train.geometry.values).query_nearest(others.geometry.values, return_distance=True)[1]
    assert nearest.min() > 1500 - 1  # metres, in the chips' own UTM zone (1 m: the aeqd/UTM difference)
    splits = (tmp_path / f"{tiles.stem}_splits.csv").read_text().splitlines()
    assert splits[0] == "identifier,split" and len(splits) - 1 == (chips["split"] != "gap").sum()
    report = json.loads((tmp_path / f"{tiles.stem}_splits_report.json").read_text())
    assert report["leakage"]["share_within_buffer"] == 0 and report["counts"]["gap"] > 0


def test_the_same_seed_gives_the_same_files_and_another_seed_another_split(tmp_path):
    outputs = []
    for seed, folder in ((1, "a"), (1, "b"), (2, "c")):
        result = _utm_run(tmp_path / folder, "split=blocks", "split.block_size_m=4000", f"split.seed={seed}")
        assert result.returncode == 0, result.stderr[-2000:]
        outputs.append(next((tmp_path / folder).glob("*_splits.csv")).read_bytes())
    assert outputs[0] == outputs[1] and outputs[0] != outputs[2]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["split=bands", "split.fractions=[0.5,0.3,0.3]"], "sum to 1.1, not 1"),
        (["split=bands", "split.fractions=[1.2,-0.1,-0.1]"], "cannot be negative"),
        (["split=blocks", "split.block_size_m=0"], "split.block_size_m=0 must be a positive"),
        (["split=bands", "split.buffer_m=-5"], "split.buffer_m=-5 cannot be negative"),
        (["split=legacy", "split.angle=2.0"], "split.angle=2 must be in [-pi/2, pi/2]"),
        (["split=bands", "split.group_by=communes"], "no column 'communes' (it has: area_km2, identifier"),
        (["split=groups"], "split=groups needs split.column"),
    ],
)
def test_bad_split_settings_fail_with_one_line_and_write_nothing(tmp_path, overrides, message):
    result = _utm_run(tmp_path, *overrides)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*_splits*"))


def test_split_alone_on_a_tiles_file(tmp_path):
    assert _utm_run(tmp_path / "first", "split=none").returncode == 0
    tiles = next((tmp_path / "first").glob("t_partitions_utmchips_*.geojson"))
    before = tiles.name
    result = run_in_process(
        geetiles_cmd(
            "stages=[split]", "split=random", f"split.tiles_file={tiles}", f"hydra.run.dir={tmp_path / 'run'}"
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "leaks" in result.stdout + result.stderr  # split=random is reported as leaky
    assert set(gpd.read_file(tiles)["split"]) == {"train", "val", "test"} and tiles.name == before


def test_the_report_gives_class_shares_per_split_and_warns_of_a_class_missing_from_train():
    from shapely.geometry import box

    from geetiles.config import SplitConfig, SplitKind
    from geetiles.split.report import split_report

    chips = gpd.GeoDataFrame(
        {
            "identifier": ["a", "b", "c", "d"],
            "lc_proportions": [{"1": 1.0}, '{"1": 0.5, "2": 0.5}', {"1": 0.2, "3": 0.8}, {"1": 1.0}],
            "split": ["train", "train", "val", "test"],
        },
        geometry=[box(6 + i * 0.02, 49, 6.01 + i * 0.02, 49.01) for i in range(4)],
        crs="EPSG:4326",
    )
    report = split_report(chips, None, SplitConfig(kind=SplitKind.bands))
    shares = report["class_shares"]["lc_proportions"]
    assert shares["train"] == {"1": 0.75, "2": 0.25, "3": 0.0} and shares["val"]["3"] == 0.8
    assert any("classes 3 occur in val but not in train" in w for w in report["warnings"])
    assert report["counts"] == {"train": 2, "val": 1, "test": 1}
    assert report["leakage"]["min_m"] > 0


def test_a_tiles_file_without_chips_is_refused(tmp_path):
    from shapely.geometry import box

    tiles = tmp_path / "t_partitions_aschips_0000000000000.geojson"
    gpd.GeoDataFrame({"identifier": ["a"]}, geometry=[box(6, 49, 6.1, 49.1)], crs=4326).iloc[:0].to_file(tiles)
    result = run_in_process(
        geetiles_cmd("stages=[split]", "split=bands", f"split.tiles_file={tiles}", f"hydra.run.dir={tmp_path / 'run'}"),
        tmp_path,
    )
    assert result.returncode == 2 and "has no chips" in result.stderr, result.stderr
    assert not list(tmp_path.glob("*_splits*"))


def test_class_shares_from_the_wide_columns_equal_those_from_the_objects():
    """The proportions stage writes each class's share twice, as JSON objects and as wide columns (the
    twin's); the split report reads the wide ones when present, and must give the same figures."""
    from shapely.geometry import box

    from geetiles.config import SplitConfig, SplitKind
    from geetiles.proportions.columns import columns_from_counts
    from geetiles.split.report import split_report

    rng = np.random.default_rng(3)
    count = 400
    classes = rng.integers(0, 50, size=(count, 4)).astype(float) * (rng.random((count, 4)) < 0.5)
    classes[:, 3] = 0  # a class no chip holds: in neither figure
    classes[7] = 0  # a chip without a valid pixel
    columns, _ = columns_from_counts("lc", ("10", "2", "30", "4"), classes, np.full(count, 64.0), {11: "missing"})
    chips = gpd.GeoDataFrame(
        {
            "identifier": [f"c{i}" for i in range(count)],
            **columns,
            "split": rng.choice(["train", "val", "test"], count),
        },
        geometry=[box(6 + i * 0.002, 49, 6.001 + i * 0.002, 49.001) for i in range(count)],
        crs="EPSG:4326",
    )
    assert any(c.startswith("lc_class_") for c in chips.columns)
    wide = split_report(chips, None, SplitConfig(kind=SplitKind.bands))["class_shares"]
    objects_only = chips.drop(columns=[c for c in chips.columns if c.startswith("lc_class_")])
    objects = split_report(objects_only, None, SplitConfig(kind=SplitKind.bands))["class_shares"]
    assert wide == objects
    assert list(wide["lc_proportions"]["train"]) == ["2", "10", "30"]
