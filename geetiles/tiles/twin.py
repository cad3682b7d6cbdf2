"""The GeoParquet twin of a tiles file: the same chips, loaded in a fraction of the GeoJSON's time.

The twin records the size and modification time of the GeoJSON it was written with
(``geetiles_twin_of``). It is read instead of the GeoJSON only while the GeoJSON still has that size and
time: a GeoJSON edited by hand wins, so the two never silently disagree. A twin written by a stage of a
run whose GeoJSON is written later (``geetiles_geojson_behind``, see :mod:`geetiles.tiles.updates`)
is *ahead* of its GeoJSON: it holds every column, the GeoJSON the older ones; readers take the twin.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from geetiles.atomic import atomic_path

TWIN_OF_KEY = b"geetiles_twin_of"
TWIN_ONLY_KEY = b"geetiles_twin_only"
BEHIND_KEY = b"geetiles_geojson_behind"


def _sync_metadata(stat: os.stat_result, twin_only=(), geojson_behind: bool = False) -> dict[bytes, bytes]:
    return {**_twin_of(stat), **_kept_metadata(twin_only, geojson_behind)}


def _twin_of(stat: os.stat_result) -> dict[bytes, bytes]:
    return {TWIN_OF_KEY: json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}).encode()}


def _kept_metadata(twin_only=(), geojson_behind: bool = False) -> dict[bytes, bytes]:
    metadata = {}
    if twin_only:
        metadata[TWIN_ONLY_KEY] = json.dumps(list(twin_only)).encode()
    if geojson_behind:
        metadata[BEHIND_KEY] = b"true"
    return metadata


def json_texts(values: list) -> list[str | None]:
    """A JSON-object column's values as the twin stores them: text (dicts as compact JSON), None for
    missing. orjson writes a million chips' proportions several times faster than ``json``
    (``bench/json_columns.py``); what it would write otherwise or not at all (NaN, which it writes as
    null; numpy scalars; integers past 64 bits; keys that are not plain strings) goes through ``json`` as
    before, and so does any text with a null in it (a None value: json's text, to be safe)."""
    import orjson

    def text(value) -> str | None:
        if value is None or (isinstance(value, float) and value != value):
            return None
        if not isinstance(value, dict):
            return str(value)
        try:
            encoded = orjson.dumps(value)
        except TypeError:
            return json.dumps(value)
        return json.dumps(value) if b"null" in encoded else encoded.decode()

    return [text(value) for value in values]


def text_objects(values: list) -> list:
    """The inverse of :func:`json_texts` on a column read back: each JSON-object text as a dict (orjson,
    or ``json`` for the NaN that only it reads), anything else as it is."""
    import orjson

    def parsed(value):
        if not (isinstance(value, str) and value.startswith("{")):
            return value
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return json.loads(value)

    return [parsed(value) for value in values]


def write_frame_twin(gdf, path: Path, stat: os.stat_result, twin_only=(), geojson_behind: bool = False, table=None):
    """The twin of a GeoDataFrame (geopandas' GeoParquet writer), JSON-object columns as text. ``table``:
    the Arrow table this function returned for the same frame before (a run's flush rewrites the twin it
    saved, now in sync with the GeoJSON: building the table is most of a twin's cost). Returns the table,
    without the sync metadata."""
    import pyarrow.parquet as pq

    if table is None:
        table = frame_table(gdf)
    metadata = {
        **(table.schema.metadata or {}),
        **_sync_metadata(stat, twin_only, geojson_behind),
    }
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(metadata), tmp)
    return table


def write_twin_beside(gdf, path: Path, write_geojson: Callable[[], Path], twin_only=(), table=None):
    """Write a GeoJSON (``write_geojson()``, which returns its path once renamed into place) and its
    twin at ``path`` at once: the twin's rows are built and encoded in a thread, on the other core
    (Parquet's encoder releases the GIL, the GeoJSON's writer does not), and its footer gets the
    GeoJSON's size and time once that is written. ``table`` as for :func:`write_frame_twin`, whose
    result this returns. The GeoJSON is renamed into place first, as before: a twin left behind by a
    failure here no longer matches it, so the GeoJSON is what loads."""
    import contextlib
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    own = gdf.copy(deep=False) if table is None else None  # the thread reads its own frame object

    def encode(tmp: Path):
        built = frame_table(own) if table is None else table
        writer = pq.ParquetWriter(
            tmp, built.schema.with_metadata({**(built.schema.metadata or {}), **_kept_metadata(twin_only)})
        )
        try:
            writer.write_table(built)
        except BaseException:
            writer.close()
            raise
        return writer, built

    with atomic_path(path) as tmp, ThreadPoolExecutor(1, thread_name_prefix="geetiles-twin") as pool:
        encoding = pool.submit(encode, tmp)
        try:
            geojson = write_geojson()
        except BaseException:
            with contextlib.suppress(BaseException):
                encoding.result()[0].close()
            raise
        writer, built = encoding.result()
        try:
            writer.add_key_value_metadata(_twin_of(geojson.stat()))  # the footer, written by close
        finally:
            writer.close()
    return built


def frame_table(gdf):
    """A GeoDataFrame as the twin's Arrow table (GeoParquet metadata, JSON-object columns as text)."""
    from geetiles.geoarrow import geoparquet_table
    from geetiles.tiles.names import is_json_column

    objects = [c for c in gdf.columns if is_json_column(str(c))]
    if objects:
        gdf = gdf.copy(deep=False)
        for column in objects:
            gdf[column] = json_texts(gdf[column].tolist())
    return geoparquet_table(gdf)


def write_arrow_twin(
    columns: dict,
    wkb: list,
    bbox: list[float] | None,
    path: Path,
    stat: os.stat_result,
    twin_only=(),
    geojson_behind: bool = False,
) -> None:
    """A GeoParquet 1.1 twin (WKB geometry, EPSG:4326 as PROJJSON), one record batch per chunk of
    ``wkb`` (each an (n, width) uint8 array or a sequence of bytes), built from Arrow buffers with
    numpy alone: ``pa.array`` would import pandas (~0.3 s of start-up)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [str(name) for name in columns] + ["geometry"]
    arrays = [np.asarray(values) for values in columns.values()]
    batches, start = [], 0
    for geometry in wkb or [np.empty(0, dtype=object)]:
        rows = slice(start, start + len(geometry))
        start += len(geometry)
        fields = [_arrow_column(array[rows]) for array in arrays]
        fields.append(_arrow_bytes(geometry, pa.binary()))
        batches.append(pa.RecordBatch.from_arrays(fields, names=names))
    column = {
        "encoding": "WKB",
        "crs": _lonlat_projjson(),
        "geometry_types": ["Polygon"],
    }
    if bbox is not None and np.isfinite(bbox).all():
        column["bbox"] = [float(v) for v in bbox]
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": column},
        "creator": {"library": "geetiles"},
    }
    table = pa.Table.from_batches(batches)
    metadata = {
        b"geo": json.dumps(geo).encode(),
        **_sync_metadata(stat, twin_only, geojson_behind),
    }
    table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _arrow_column(array):
    """A numpy column as an Arrow array: float64, int64, bool, or (anything else) large_string."""
    import numpy as np
    import pyarrow as pa

    n = len(array)
    if array.dtype.kind == "f":
        values = np.ascontiguousarray(array, dtype=np.float64)
        valid = ~np.isnan(values)
        return pa.Array.from_buffers(
            pa.float64(),
            n,
            [_validity(valid), pa.py_buffer(values)],
            int(n - valid.sum()),
        )
    if array.dtype.kind in "iu":
        return pa.Array.from_buffers(
            pa.int64(),
            n,
            [None, pa.py_buffer(np.ascontiguousarray(array, dtype=np.int64))],
        )
    if array.dtype.kind == "b":
        bits = np.packbits(array.astype(bool), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])
    texts = json_texts(array.tolist())
    encoded = [None if v is None else v.encode("utf-8") for v in texts]
    return _arrow_bytes(encoded, pa.large_string())


def _arrow_bytes(items, kind):
    """Arrow (large_)string/binary from a sequence of bytes (``None`` is null), or from an (n, width)
    uint8 array of fixed-width values."""
    import numpy as np
    import pyarrow as pa

    wide = kind in (pa.large_string(), pa.large_binary())
    if isinstance(items, np.ndarray) and items.dtype == np.uint8 and items.ndim == 2:
        n, width = items.shape
        offsets = np.arange(n + 1, dtype=np.int64 if wide else np.int32) * width
        return pa.Array.from_buffers(
            kind,
            n,
            [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(items))],
        )
    n = len(items)
    valid = np.fromiter((item is not None for item in items), dtype=bool, count=n)
    lengths = np.fromiter(
        (len(item) if item is not None else 0 for item in items),
        dtype=np.int64,
        count=n,
    )
    offsets = np.zeros(n + 1, dtype=np.int64 if wide else np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = b"".join(item for item in items if item is not None)
    return pa.Array.from_buffers(
        kind,
        n,
        [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(data)],
        int(n - valid.sum()),
    )


def _validity(valid):
    """Arrow validity bitmap (None when every value is valid)."""
    import numpy as np
    import pyarrow as pa

    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _lonlat_projjson() -> dict:
    from pyproj import CRS

    return CRS.from_epsg(4326).to_json_dict()


def twin_in_sync(twin: Path, geojson: Path) -> bool:
    """True when ``twin`` was written with ``geojson`` as it is now (or ahead of it, by a run): then the
    twin is what the tiles file holds."""
    import pyarrow.parquet as pq

    try:
        # the file's footer: write_twin_beside adds the key there, after the schema was written
        recorded = json.loads((pq.read_metadata(twin).metadata or {}).get(TWIN_OF_KEY, b"{}"))
    except Exception:
        return False
    stat = geojson.stat()
    return recorded == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
