"""Tiles files: the original's GeoJSON, with a GeoParquet twin that loads in a fraction of the time.

Name rule (from geetiles 0.1.7): ``{dest}/{aoi_name}_partitions_{tiles_name}_{hash}.geojson`` where
``hash`` is the list hash of the chip ids in row order. The twin ``….parquet`` records the size and
modification time of the GeoJSON it was written with; a twin that no longer matches (someone edited
the GeoJSON) is ignored, so the two can never silently disagree.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from geetiles.atomic import atomic_path
from geetiles.errors import UserInputError

_TWIN_KEY = b"geetiles_twin_of"
_NAME_RE = re.compile(r"^(?P<aoi>[^_/]+)_partitions_(?P<tiles>[^_/]+)_(?P<hash>[0-9a-f]{13})$")


def check_name(kind: str, name: str) -> None:
    """Names become parts of file names: no ``_``, no ``partitions``, no path separators."""
    problems = []
    if not name:
        problems.append("is empty")
    if "_" in name:
        problems.append("contains '_'")
    if "partitions" in name:
        problems.append("contains 'partitions'")
    if "/" in name or "\\" in name or name in (".", ".."):
        problems.append("is not a plain file-name part")
    if problems:
        raise UserInputError(
            f"{kind}={name!r} {' and '.join(problems)}; choose a short name without '_' or "
            f"'partitions', e.g. {_suggest(name)!r}"
        )


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9-]", "", name.replace("partitions", "").replace("_", "-")).strip("-")
    return cleaned or "myaoi"


def tiles_file_path(dest_dir: str | os.PathLike[str], aoi_name: str, tiles_name: str, digest: str) -> Path:
    """Where a tiles file goes, named exactly as geetiles 0.1.7 names it."""
    check_name("aoi.name", aoi_name)
    check_name("tiles name", tiles_name)
    return Path(dest_dir) / f"{aoi_name}_partitions_{tiles_name}_{digest}.geojson"


def parse_tiles_file_name(path: str | os.PathLike[str]) -> dict[str, str] | None:
    """``{'aoi', 'tiles', 'hash'}`` from a tiles file name, or None if it does not follow the rule."""
    match = _NAME_RE.match(Path(path).stem)
    return match.groupdict() if match else None


def twin_path(geojson_path: str | os.PathLike[str]) -> Path:
    return Path(geojson_path).with_suffix(".parquet")


def write_tiles(gdf, geojson_path: str | os.PathLike[str]) -> Path:
    """Write the GeoJSON (as the original does, CRS84) and its GeoParquet twin, each atomically."""
    geojson_path = Path(geojson_path)
    with atomic_path(geojson_path) as tmp:
        write_geojson(gdf, tmp, name=geojson_path.stem)
    stat = geojson_path.stat()
    _write_twin(gdf, twin_path(geojson_path), stat)
    return geojson_path


def write_geojson(gdf, path: Path, name: str, chunk: int = 100_000) -> None:
    """A FeatureCollection laid out as GDAL writes it (CRS84 member, one feature per line).

    Geometries are encoded by GEOS (``shapely.to_geojson``, shortest round-trip coordinates) and
    properties by pandas' C JSON encoder, a chunk at a time: twice as fast as GDAL's writer for a
    million chips, with memory bounded by the chunk.
    """
    import pandas as pd
    import shapely

    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    properties = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geometries = gdf.geometry.values
    header = {"type": "FeatureCollection", "name": name,
              "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(header)[:-1] + ',\n"features": [\n')
        for start in range(0, len(gdf), chunk):
            stop = min(start + chunk, len(gdf))
            props = properties.iloc[start:stop].to_json(orient="records", lines=True, double_precision=15)
            geoms = shapely.to_geojson(geometries[start:stop])
            features = (
                f'{{"type": "Feature", "properties": {p}, "geometry": {g or "null"}}}'
                for p, g in zip(props.splitlines(), geoms.tolist())
            )
            out.write((",\n" if start else "") + ",\n".join(features))
        out.write("\n]\n}\n")


def _write_twin(gdf, path: Path, stat: os.stat_result) -> None:
    import pyarrow.parquet as pq
    from geopandas.io.arrow import _geopandas_to_arrow

    table = _geopandas_to_arrow(gdf, index=False)
    twin_of = json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _TWIN_KEY: twin_of})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def load_tiles(path: str | os.PathLike[str]):
    """Load a tiles file from its GeoJSON or its GeoParquet; the twin is used when it is in sync."""
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise UserInputError(f"tiles file {str(path)!r} does not exist; check the path or run the tiling stage first")
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    twin = twin_path(path)
    if twin.exists() and _twin_in_sync(twin, path):
        return gpd.read_parquet(twin)
    try:
        return gpd.read_file(path, engine="pyogrio")
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise UserInputError(f"cannot read tiles file {str(path)!r} ({error}); is it a GeoJSON tiles file?") from None


def _twin_in_sync(twin: Path, geojson: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        recorded = json.loads(pq.read_schema(twin).metadata.get(_TWIN_KEY, b"{}"))
    except Exception:
        return False
    stat = geojson.stat()
    return recorded == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
