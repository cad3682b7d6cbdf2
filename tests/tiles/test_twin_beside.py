"""The GeoJSON and its twin written at once (``twin.write_twin_beside``): the twin names the GeoJSON
as written, and a failure of either leaves no temporary file and no twin that claims a GeoJSON it does
not match."""

from __future__ import annotations

import json

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
import shapely

from geetiles.tiles import load_tiles, twin_path, write_tiles
from geetiles.tiles.twin import TWIN_OF_KEY, twin_in_sync
from tests.hostile import snapshot


def _frame(rows: int = 50, extra: str | None = None) -> gpd.GeoDataFrame:
    columns = {"identifier": [f"c{i}" for i in range(rows)], "demo_proportions": [{"10": 1.0}] * rows}
    if extra:
        columns[extra] = list(range(rows))
    return gpd.GeoDataFrame(
        columns, geometry=[shapely.box(i * 0.01, 0, i * 0.01 + 0.01, 0.01) for i in range(rows)], crs="EPSG:4326"
    )


def test_the_twin_names_the_geojson_as_written_and_keeps_its_twin_only_columns(tmp_path):
    path = tmp_path / "t_partitions_aschips_0123456789abc.geojson"
    write_tiles(_frame(extra="hidden"), path, twin_only=["hidden"])
    stat = path.stat()
    footer = pq.read_metadata(twin_path(path)).metadata
    assert json.loads(footer[TWIN_OF_KEY]) == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    assert twin_in_sync(twin_path(path), path)
    assert "hidden" not in json.loads(path.read_text())["features"][0]["properties"]
    loaded = load_tiles(path)
    assert loaded["hidden"].tolist() == list(range(50))  # from the twin
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_geojson_that_fails_half_way_leaves_both_files_as_they_were(tmp_path, monkeypatch):
    import geetiles.tiles.geojson as geojson

    path = tmp_path / "t_partitions_aschips_0123456789abc.geojson"
    write_tiles(_frame(), path)
    before = snapshot(tmp_path)
    real = geojson.write_geojson

    def fails_after_writing(gdf, out, name, chunk=100_000):
        real(gdf, out, name, chunk=10)
        raise OSError("the disk went away")

    monkeypatch.setattr(geojson, "write_geojson", fails_after_writing)
    with pytest.raises(OSError, match="went away"):
        write_tiles(_frame(extra="added"), path)
    assert snapshot(tmp_path) == before  # no temporary file of either, neither file changed
    assert "added" not in load_tiles(path).columns


def test_a_twin_that_fails_leaves_the_new_geojson_which_then_loads(tmp_path, monkeypatch):
    import pyarrow.parquet as pq_module

    path = tmp_path / "t_partitions_aschips_0123456789abc.geojson"
    write_tiles(_frame(), path)

    class Refusing(pq_module.ParquetWriter):
        def write_table(self, table, row_group_size=None):
            raise OSError("no space for the twin")

    monkeypatch.setattr(pq_module, "ParquetWriter", Refusing)
    with pytest.raises(OSError, match="no space for the twin"):
        write_tiles(_frame(extra="added"), path)
    monkeypatch.undo()
    assert not twin_in_sync(twin_path(path), path)  # the old twin names the old GeoJSON
    assert load_tiles(path)["added"].tolist() == list(range(50))  # so the new GeoJSON is what loads
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
