"""``chips.parquet``: the dataset's index, one row per chip, as GeoParquet 1.1 (WKB footprint in
EPSG:4326, a bbox covering column so readers can filter by area without decoding geometry, zstd).

Columns: identifier, split, geometry, bbox, centre_lon/centre_lat (the area centroid, not the mean of
the ring's corners as 0.1.7 took it), crs, transform, width, height, every split and
foreign-id column of the tiles file, the label proportions one column per class plus valid_frac,
and the relative path and SHA-256 of each file. The Parquet metadata (key ``geetiles``) holds the
resolved config, the geetiles version, the band names, dtypes and the class table. Beside it,
``splits/{split}.parquet`` holds the same rows per split (the dataset card's ``data_files``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from geetiles.export.geotiff import WrittenChips
from geetiles.export.inputs import ExportInput

INDEX = "chips.parquet"
METADATA_KEY = b"geetiles"


def index_frame(inp: ExportInput, written: WrittenChips):
    """The index rows as a GeoDataFrame (EPSG:4326)."""
    import geopandas as gpd
    import shapely

    from geetiles.tiles.twin import json_texts

    frame = inp.frame
    geometry = np.asarray(frame.geometry.values)
    centres = shapely.get_coordinates(shapely.centroid(geometry))  # area centroids, as split's chip_centres
    columns: dict[str, object] = {"identifier": inp.identifiers.astype(str), "split": inp.splits.astype(str)}
    columns["centre_lon"], columns["centre_lat"] = centres[:, 0], centres[:, 1]
    columns["crs"] = written.crs
    columns["transform"] = [list(t) for t in written.transform]
    columns["width"], columns["height"] = written.width, written.height
    if "area_km2" in frame.columns:
        columns["area_km2"] = frame["area_km2"].to_numpy(dtype=float)
    for name in frame.columns:
        if name.startswith(("split_", "foreignid_")):
            columns[name] = frame[name].astype(str).to_numpy()
    if inp.labels is not None:
        prefix = inp.labels.name
        for name in frame.columns:
            if name.startswith(f"{prefix}_class_") or name == f"{prefix}_valid_frac":
                columns[name] = frame[name].to_numpy(dtype=float)
            elif name.startswith(f"{prefix}_proportions"):  # JSON text as the twin holds it (orjson, see
                values = [v if isinstance(v, dict) else None for v in frame[name].tolist()]  # bench/json_columns.py)
                columns[name] = json_texts(values)
    columns["image_path"] = [f"images/{i}.tif" for i in inp.identifiers]
    columns["image_sha256"] = written.image_sha256
    if inp.labels is not None:
        columns["label_path"] = [f"labels/{i}.tif" for i in inp.identifiers]
        columns["label_sha256"] = written.label_sha256
    return gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:4326")


def metadata(inp: ExportInput) -> dict:
    """What a reader needs besides the rows: how the dataset was made and what its arrays hold."""
    from geetiles import __version__

    def describe(info):
        if info is None:
            return None
        return {
            "name": info.name,
            "bands": list(info.bands),
            "dtype": info.dtype,
            "nodata": info.nodata,
            "classes": [dict(c) for c in info.classes],
        }

    return {
        "geetiles_version": __version__,
        "name": inp.name,
        "tiles_file": inp.tiles_path.name,
        "images": describe(inp.images),
        "labels": describe(inp.labels),
        "splits": inp.split_names(),
        "config": inp.resolved_config,
    }


def write_index(inp: ExportInput, written: WrittenChips, dest: Path) -> list[Path]:
    """Write chips.parquet and splits/{split}.parquet; return their paths. The rows are converted to
    Arrow once and each split filtered from them; the files are compressed in two threads (zstd
    releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    from geetiles.geoarrow import geoparquet_rows, geoparquet_table
    from geetiles.names import child_path

    frame = index_frame(inp, written)
    extra = json.dumps(metadata(inp), default=str).encode()
    table = geoparquet_table(frame, schema_version="1.1.0", write_covering_bbox=True)
    tables = {dest / INDEX: table}
    (dest / "splits").mkdir(exist_ok=True)
    splits = frame["split"].to_numpy()
    for split in inp.split_names():
        tables[child_path(dest / "splits", split, ".parquet")] = geoparquet_rows(table, frame, splits == split)
    with ThreadPoolExecutor(2, thread_name_prefix="geetiles-index") as pool:
        return list(pool.map(lambda item: _write(item[1], item[0], extra), tables.items()))


def _write(table, path: Path, extra: bytes) -> Path:
    import pyarrow.parquet as pq

    from geetiles.atomic import atomic_path

    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: extra})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path
