"""A GeoDataFrame as a GeoParquet-ready Arrow table (``geo`` metadata included), through one wrapper.

geopandas has no public call that returns the table ``GeoDataFrame.to_parquet`` writes: its public
``to_arrow`` gives GeoArrow extension types without GeoParquet's ``geo`` metadata, and ``to_parquet``
writes a file we could not add our own schema metadata to before the atomic rename. So the tiles
file's twin and the export's index call geopandas' private ``_geopandas_to_arrow`` here, and only here
(and its ``_create_metadata`` for a table's subsets); ``tests/test_geoarrow.py`` fails the day geopandas
renames either.
"""

from __future__ import annotations

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
