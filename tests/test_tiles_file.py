import os
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geetiles.errors import UserInputError
from geetiles.tiles_file import load_tiles, parse_tiles_file_name, tiles_file_path, twin_path, write_tiles


def frame(n=3):
    return gpd.GeoDataFrame(
        {"identifier": [f"{i:013x}" for i in range(n)], "area_km2": [1.0] * n},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)], crs=4326,
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
        "x_partitions_aschips_0000000000000.geojson", "x_partitions_aschips_0000000000000.parquet",
    ]


def test_geojson_round_trips_coordinates_exactly(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-180, 179, 50), rng.uniform(-89, 89, 50)
    original = gpd.GeoDataFrame(
        {"identifier": [f"{i:013x}" for i in range(50)], "area_km2": rng.uniform(0, 2, 50),
         "epsg": np.full(50, 32632, dtype=np.int32), "split": ["train"] * 49 + [None]},
        geometry=shapely.box(x, y, x + rng.uniform(0, 1, 50), y + 0.5), crs=4326,
    )
    path = write_tiles(original, tmp_path / "x_partitions_aschips_0000000000000.geojson")
    back = gpd.read_file(path)
    assert back.columns.tolist() == original.columns.tolist()
    assert all(a.equals_exact(b, tolerance=0) for a, b in zip(back.geometry, original.geometry))
    assert np.allclose(back["area_km2"], original["area_km2"], rtol=1e-14, atol=0)
    assert back["identifier"].tolist() == original["identifier"].tolist()
    assert back["split"].tolist()[:49] == ["train"] * 49 and back["split"].isna().iloc[49]
