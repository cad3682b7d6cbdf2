"""A GeoDataFrame as a GeoParquet-ready Arrow table (``geo`` metadata included), through one wrapper.

geopandas has no public call that returns the table ``GeoDataFrame.to_parquet`` writes: its public
``to_arrow`` gives GeoArrow extension types without GeoParquet's ``geo`` metadata, and ``to_parquet``
writes a file we could not add our own schema metadata to before the atomic rename. So the tiles
file's twin and the export's index call geopandas' private ``_geopandas_to_arrow`` here, and only here;
``tests/test_geoarrow.py`` fails the day geopandas renames it.
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
