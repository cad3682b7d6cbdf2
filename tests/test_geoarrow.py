"""The one wrapper of geopandas' private GeoParquet table builder and reader."""

import geopandas as gpd
import pyarrow.parquet as pq
from shapely.geometry import box

from geetiles.geoarrow import geoparquet_table


def test_geopandas_still_has_the_private_builders_the_wrapper_calls():
    """Fails the day geopandas renames or drops them: then geetiles.geoarrow needs another way."""
    import geopandas.io.arrow as arrow

    assert callable(getattr(arrow, "_geopandas_to_arrow", None))
    assert callable(getattr(arrow, "_create_metadata", None))  # geoparquet_rows' metadata of a subset
    for name in ("_arrow_to_geopandas", "_validate_and_decode_metadata", "_remove_id_from_member_of_ensembles"):
        assert callable(getattr(arrow, name, None)), name  # read_geoparquet


def test_the_table_is_what_to_parquet_writes(tmp_path):
    frame = gpd.GeoDataFrame(
        {"identifier": ["a", "b"]},
        geometry=[box(0, 0, 1, 1), box(1, 1, 2, 3)],
        crs=4326,
    )
    table = geoparquet_table(frame, schema_version="1.1.0", write_covering_bbox=True)
    assert table.column_names == ["identifier", "geometry", "bbox"]
    assert b"geo" in table.schema.metadata
    pq.write_table(table, tmp_path / "x.parquet")
    back = gpd.read_parquet(tmp_path / "x.parquet")
    assert list(back["identifier"]) == ["a", "b"] and back.geometry.geom_equals(frame.geometry).all()
    assert back.crs.equals(frame.crs)
    plain = geoparquet_table(frame)
    assert plain.column_names == ["identifier", "geometry"]  # no index column either


def test_a_subset_of_the_table_is_what_the_subset_of_the_frame_gives():
    """``geoparquet_rows`` filters the table and gives the rows their own geo metadata (bbox, types),
    exactly as converting the subset of the frame does."""
    import numpy as np
    from shapely.geometry import MultiPolygon

    from geetiles.geoarrow import geoparquet_rows

    shapes = [box(0, 0, 1, 1), MultiPolygon([box(5, 5, 6, 6), box(7, 7, 8, 9)]), box(-3, 2, -2, 4), box(1, 1, 2, 3)]
    frame = gpd.GeoDataFrame(
        {"identifier": list("abcd"), "split": ["train", "val", "train", "test"]}, geometry=shapes, crs=4326
    )
    for options in ({"schema_version": "1.1.0", "write_covering_bbox": True}, {}):
        table = geoparquet_table(frame, **options)
        for split in ("train", "val", "test", "none"):
            rows = (frame["split"] == split).to_numpy()
            expected = geoparquet_table(frame[rows].reset_index(drop=True), **options)
            got = geoparquet_rows(table, frame, rows)
            assert got.equals(expected, check_metadata=True), split
    assert np.array_equal(rows, np.zeros(4, dtype=bool))  # the last subset was empty


def test_read_geoparquet_gives_what_read_parquet_gives_and_parses_each_crs_once(tmp_path):
    import pandas as pd
    import pytest

    from geetiles.geoarrow import _parsed_crs, read_geoparquet

    shapes = [box(0, 0, 1, 1), box(1, 1, 2, 3), None]
    cases = {
        "lonlat": gpd.GeoDataFrame(
            {"identifier": ["a", "b", "c"], "share": [0.5, None, 1.0], "when": pd.to_datetime(["2020-01-01"] * 3)},
            geometry=shapes,
            crs=4326,
        ),
        "utm": gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=shapes, crs=32632),
        "no crs": gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=shapes),
    }
    cases["lonlat"].attrs = {"made_by": "test"}
    _parsed_crs.cache_clear()
    for name, frame in cases.items():
        for copy in range(2):
            path = tmp_path / f"{name}{copy}.parquet"
            frame.to_parquet(path)
            theirs, ours = gpd.read_parquet(path), read_geoparquet(path)
            pd.testing.assert_frame_equal(ours, theirs)
            assert ours.crs == theirs.crs and ours.geometry.name == theirs.geometry.name and ours.attrs == theirs.attrs
            assert type(ours) is gpd.GeoDataFrame
    assert _parsed_crs.cache_info().misses == 2 and _parsed_crs.cache_info().hits == 2  # once per distinct CRS

    covered = tmp_path / "covered.parquet"  # the export's index: read_parquet leaves its bbox column out
    pq.write_table(geoparquet_table(cases["lonlat"], schema_version="1.1.0", write_covering_bbox=True), covered)
    ours = read_geoparquet(covered)
    assert "bbox" not in ours.columns and list(ours.columns) == list(gpd.read_parquet(covered).columns)

    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"n": [1]}).to_parquet(plain)
    with pytest.raises(ValueError, match="Missing geo metadata"):  # as read_parquet refuses it
        read_geoparquet(plain)


def test_a_hostile_geo_metadata_is_refused_as_read_parquet_refuses_it(tmp_path):
    """Broken ``geo`` JSON, or a CRS PROJ cannot parse: the same error type as geopandas' own reader, and
    a CRS that failed is not kept (the next read of a good file works)."""
    import json

    import pytest

    from geetiles.geoarrow import read_geoparquet

    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    table = geoparquet_table(frame)
    geo = json.loads(table.schema.metadata[b"geo"])
    bad_crs = {**geo, "columns": {"geometry": {**geo["columns"]["geometry"], "crs": {"type": "NoSuchCRS"}}}}
    for name, value in (("broken", b"{not json"), ("bad_crs", json.dumps(bad_crs).encode())):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table.replace_schema_metadata({**table.schema.metadata, b"geo": value}), path)
        with pytest.raises(Exception) as theirs:
            gpd.read_parquet(path)
        with pytest.raises(type(theirs.value)):
            read_geoparquet(path)
    good = tmp_path / "good.parquet"
    pq.write_table(table, good)
    assert read_geoparquet(good).crs == frame.crs
