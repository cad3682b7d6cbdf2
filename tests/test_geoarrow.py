"""The one wrapper of geopandas' private GeoParquet table builder."""

import geopandas as gpd
import pyarrow.parquet as pq
from shapely.geometry import box

from geetiles.geoarrow import geoparquet_table


def test_geopandas_still_has_the_private_builders_the_wrapper_calls():
    """Fails the day geopandas renames or drops them: then geetiles.geoarrow needs another way."""
    import geopandas.io.arrow as arrow

    assert callable(getattr(arrow, "_geopandas_to_arrow", None))
    assert callable(getattr(arrow, "_create_metadata", None))  # geoparquet_rows' metadata of a subset


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
