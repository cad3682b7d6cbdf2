import os
import time

import geopandas as gpd
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
