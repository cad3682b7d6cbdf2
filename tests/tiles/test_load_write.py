import os
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geetiles.errors import UserInputError
from geetiles.tiles import load_tiles, parse_tiles_file_name, tiles_file_path, twin_path, write_tiles


def frame(n=3):
    return gpd.GeoDataFrame(
        {"identifier": [f"{i:013x}" for i in range(n)], "area_km2": [1.0] * n},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)],
        crs=4326,
    )


def test_name_follows_the_original_rule(tmp_path):
    path = tiles_file_path(tmp_path, "lux", "aschips", "14c55eb7d417f")
    assert path.name == "lux_partitions_aschips_14c55eb7d417f.geojson"
    assert parse_tiles_file_name(path) == {"aoi": "lux", "tiles": "aschips", "hash": "14c55eb7d417f"}
    for bad in ("my_aoi", "mypartitions", "a/b", ""):
        with pytest.raises(UserInputError):
            tiles_file_path(tmp_path, bad, "aschips", "0" * 13)


def test_geojson_and_parquet_twin_load_the_same(tmp_path):
    path = write_tiles(frame(), tmp_path / "x_partitions_aschips_0000000000000.geojson")
    assert twin_path(path).exists()
    assert '"urn:ogc:def:crs:OGC:1.3:CRS84"' in path.read_text()
    from_json = gpd.read_file(path)
    for loaded in (load_tiles(path), load_tiles(twin_path(path))):
        assert loaded["identifier"].tolist() == from_json["identifier"].tolist()
        assert loaded.geometry.geom_equals(from_json.geometry).all()
        assert loaded.crs.to_epsg() == 4326


def test_stale_twin_is_ignored_after_editing_the_geojson(tmp_path):
    path = write_tiles(frame(3), tmp_path / "x_partitions_aschips_0000000000000.geojson")
    edited = frame(3)
    edited["split"] = ["train", "val", "test"]
    time.sleep(0.01)
    edited.to_file(path, driver="GeoJSON")  # a user's edit in another tool, twin untouched
    assert "split" in load_tiles(path).columns


def test_missing_tiles_file_is_a_user_error(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        load_tiles(tmp_path / "nope.geojson")


def test_no_temporary_files_are_left(tmp_path):
    write_tiles(frame(), tmp_path / "x_partitions_aschips_0000000000000.geojson")
    assert sorted(os.listdir(tmp_path)) == [
        "x_partitions_aschips_0000000000000.geojson",
        "x_partitions_aschips_0000000000000.parquet",
    ]


def test_geojson_round_trips_coordinates_exactly(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-180, 179, 50), rng.uniform(-89, 89, 50)
    original = gpd.GeoDataFrame(
        {
            "identifier": [f"{i:013x}" for i in range(50)],
            "area_km2": rng.uniform(0, 2, 50),
            "epsg": np.full(50, 32632, dtype=np.int32),
            "split": ["train"] * 49 + [None],
        },
        geometry=shapely.box(x, y, x + rng.uniform(0, 1, 50), y + 0.5),
        crs=4326,
    )
    path = write_tiles(original, tmp_path / "x_partitions_aschips_0000000000000.geojson")
    back = gpd.read_file(path)
    assert back.columns.tolist() == original.columns.tolist()
    assert all(a.equals_exact(b, tolerance=0) for a, b in zip(back.geometry, original.geometry))
    assert np.allclose(back["area_km2"], original["area_km2"], rtol=1e-14, atol=0)
    assert back["identifier"].tolist() == original["identifier"].tolist()
    assert back["split"].tolist()[:49] == ["train"] * 49 and back["split"].isna().iloc[49]


# --- identifiers: every reader of a tiles file refuses those outside the rule (tests/hostile.py) -------------


def _hostile(tmp_path, identifier="../../evil", twin=True):
    from tests.hostile import hostile_tiles

    return hostile_tiles(tmp_path, identifier, twin=twin)


@pytest.mark.parametrize("twin", [True, False])
def test_load_tiles_refuses_unsafe_identifiers(tmp_path, twin):
    from tests.hostile import assert_one_line_refusal

    tiles = _hostile(tmp_path, twin=twin)
    for path in (tiles, twin_path(tiles)) if twin else (tiles,):
        with pytest.raises(UserInputError) as refused:
            load_tiles(path)
        assert_one_line_refusal(str(refused.value), "../../evil")
        assert "t_partitions_aschips_0123456789abc.geojson" in str(refused.value)


def test_the_identifier_column_is_checked_from_the_twin_alone(tmp_path):
    from geetiles.tiles import check_identifier_column

    with pytest.raises(UserInputError, match="evil"):
        check_identifier_column(_hostile(tmp_path / "a"))
    check_identifier_column(_hostile(tmp_path / "b", "3a1b2c3d4e5f6"))  # plain: no error
    check_identifier_column(_hostile(tmp_path / "c", twin=False))  # no twin: left to the stage that loads it


def _run(*overrides):
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment
    from geetiles.runner import run_experiment

    return run_experiment(Experiment.from_config(compose(["source=none", "labels=none", *overrides]), command="test"))


@pytest.mark.parametrize("stage", ["split", "intersect", "proportions", "foreign-units", "mosaic.fromvals"])
def test_every_stage_reading_a_tiles_file_refuses_it_and_writes_nothing(tmp_path, capsys, stage):
    from geetiles.cli import geet
    from tests.hostile import assert_one_line_refusal, hostile_tiles, snapshot

    tiles = hostile_tiles(tmp_path, "../../evil")
    plain = hostile_tiles(tmp_path / "other", "3a1b2c3d4e5f6")
    before = snapshot(tmp_path)
    runs = {
        "split": lambda: _run("stages=[split]", "split=random", f"split.tiles_file={tiles}"),
        "intersect": lambda: _run(
            "stages=[intersect]", f"intersect.tiles_file={tiles}", f"intersect.foreign_file={plain}"
        ),
        "foreign-units": lambda: _run(
            "stages=[intersect]", f"intersect.tiles_file={plain}", f"intersect.foreign_file={tiles}"
        ),
        "proportions": lambda: _run(
            "stages=[proportions]",
            f"proportions.tiles_file={tiles}",
            "proportions.dataset=img",
            "proportions.definition=esa-world-cover",
        ),
        "mosaic.fromvals": lambda: geet.main(
            [
                "mosaic.fromvals",
                "--tiles_file",
                str(tiles),
                "--dest_file",
                str(tmp_path / "values.tif"),
                "--meters_per_pixel",
                "100",
            ]
        ),
    }
    if stage == "mosaic.fromvals":
        with pytest.raises(SystemExit) as ended:
            runs[stage]()
        assert ended.value.code == 2
        message = capsys.readouterr().err.strip()
        assert message.startswith("geetiles: error: ")
    else:
        with pytest.raises(UserInputError) as refused:
            runs[stage]()
        message = str(refused.value)
    assert_one_line_refusal(message, "../../evil")
    assert snapshot(tmp_path) == before
