"""GeoParquet to and from geopandas through one wrapper: a GeoDataFrame as a GeoParquet-ready Arrow
table (``geo`` metadata included), and a GeoParquet file as a GeoDataFrame.

geopandas has no public call that returns the table ``GeoDataFrame.to_parquet`` writes: its public
``to_arrow`` gives GeoArrow extension types without GeoParquet's ``geo`` metadata, and ``to_parquet``
writes a file we could not add our own schema metadata to before the atomic rename. So the tiles
file's twin and the export's index call geopandas' private ``_geopandas_to_arrow`` here, and only here
(and its ``_create_metadata`` for a table's subsets).

Reading: ``geopandas.read_parquet`` parses the file's PROJJSON CRS every time, and PROJ takes ~28 ms for
WGS 84 as GeoParquet writes it (datum-ensemble members named, without ids: each looked up in PROJ's
database), most of the time a small tiles file takes to load (``bench/twin_read.py``). ``read_geoparquet``
converts the table with geopandas' private ``_arrow_to_geopandas``, as ``read_parquet`` does, but hands
it a CRS parsed once per process. ``tests/test_geoarrow.py`` fails the day geopandas renames any of them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any


def geoparquet_table(frame: Any, schema_version: str | None = None, write_covering_bbox: bool = False) -> Any:
    """``pyarrow.Table`` of ``frame`` (no index) with GeoParquet metadata, as ``to_parquet`` writes it."""
    from geopandas.io.arrow import _geopandas_to_arrow

    return _geopandas_to_arrow(
        frame,
        index=False,
        schema_version=schema_version,
        write_covering_bbox=write_covering_bbox,
    )


def geoparquet_rows(table: Any, frame: Any, rows: Any) -> Any:
    """The ``rows`` (a boolean mask) of ``table``, which :func:`geoparquet_table` made of ``frame``, with
    the ``geo`` metadata those rows alone get (their bbox and geometry types): what
    ``geoparquet_table(frame[rows])`` returns, without converting every subset's geometries again."""
    import json

    import pyarrow as pa
    from geopandas.io.arrow import _create_metadata

    geo = json.loads(table.schema.metadata[b"geo"])
    encodings = {name: column["encoding"] for name, column in geo["columns"].items()}
    geometries = frame.loc[rows, [frame.geometry.name]]
    metadata = _create_metadata(
        geometries,
        schema_version=geo["version"],
        geometry_encoding=encodings,
        write_covering_bbox=any("covering" in column for column in geo["columns"].values()),
    )
    subset = table.filter(pa.array(rows, type=pa.bool_()))
    return subset.replace_schema_metadata({**table.schema.metadata, b"geo": json.dumps(metadata).encode("utf-8")})


def read_geoparquet(path: Any) -> Any:
    """``geopandas.read_parquet(path)``, with each distinct CRS parsed once per process. A file with a
    bbox covering column (the export's index) goes through ``read_parquet`` itself, which leaves that
    column out."""
    import pyarrow.parquet as pq
    from geopandas.io.arrow import _arrow_to_geopandas, _validate_and_decode_metadata

    table = pq.read_table(path)
    metadata = table.schema.metadata
    geo = _validate_and_decode_metadata(metadata)
    if any("covering" in column for column in geo["columns"].values()):
        import geopandas as gpd

        return gpd.read_parquet(path)
    for column in geo["columns"].values():
        if isinstance(column.get("crs"), dict):
            column["crs"] = _parsed_crs(json.dumps(column["crs"], sort_keys=True))
    return _arrow_to_geopandas(table, geo, None, metadata.get(b"PANDAS_ATTRS"))


@lru_cache(maxsize=16)
def _parsed_crs(projjson: str) -> Any:
    """The CRS ``read_parquet`` makes of this PROJJSON (ids of ensemble members dropped first, as it
    does). pyproj's CRS objects are immutable and thread-safe (pyproj 3.1 and later), so one serves
    every frame."""
    from geopandas.io.arrow import _remove_id_from_member_of_ensembles
    from pyproj import CRS

    crs = json.loads(projjson)
    _remove_id_from_member_of_ensembles(crs)
    return CRS.from_user_input(crs)
