"""The one wrapper of geopandas' private GeoParquet table builder."""

import geopandas as gpd
import pyarrow.parquet as pq
from shapely.geometry import box

from geetiles.geoarrow import geoparquet_table


def test_geopandas_still_has_the_private_builder_the_wrapper_calls():
    """Fails the day geopandas renames or drops it: then geetiles.geoarrow needs another way."""
    import geopandas.io.arrow as arrow

    assert callable(getattr(arrow, "_geopandas_to_arrow", None))


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
