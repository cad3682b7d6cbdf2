"""Loading tiles files: the twin when it holds what the file holds, else the GeoJSON (through GDAL)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from geetiles.errors import UserInputError
from geetiles.layout import geojson_path, twin_path
from geetiles.tiles.names import is_json_column
from geetiles.tiles.twin import TWIN_ONLY_KEY, text_objects, twin_in_sync

LEGACY_LAYOUT_ATTR = "geetiles_legacy_layout"  # GeoDataFrame.attrs flag: write in 0.1.7's layout
TWIN_ONLY_ATTR = "geetiles_twin_only"  # GeoDataFrame.attrs: columns kept out of the GeoJSON (wide class shares)


def load_tiles(path: str | os.PathLike[str]):
    """Load a tiles file from its GeoJSON or its GeoParquet; the twin is used when it is in sync with
    the GeoJSON or ahead of it (a run that died between a stage and its GeoJSON write: the twin holds
    the newest columns). A file in 0.1.7's layout comes back flagged (``attrs[LEGACY_LAYOUT_ATTR]``), so
    that writing it back keeps that layout."""
    import geopandas as gpd

    from geetiles.tiles.legacy import is_legacy_file

    path = Path(path)
    if not path.exists():
        raise UserInputError(f"tiles file {str(path)!r} does not exist; check the path or run the tiling stage first")
    if path.suffix == ".parquet":
        frame = _from_twin(path)
    elif twin_path(path).exists() and twin_in_sync(twin_path(path), path):
        frame = _from_twin(twin_path(path))
    else:
        try:
            frame = gpd.read_file(path, engine="pyogrio")
        except Exception as error:  # pyogrio raises several types for unreadable files
            raise UserInputError(
                f"cannot read tiles file {str(path)!r} ({error}); is it a GeoJSON tiles file?"
            ) from None
        _check_identifiers(frame, path)
        frame = _with_objects(frame, path)
    if is_legacy_file(geojson_path(path)):
        frame.attrs[LEGACY_LAYOUT_ATTR] = True
    return frame


def _check_identifiers(frame, path: Path) -> None:
    """Every reader of a tiles file comes through here: identifiers outside the rule (they become file
    names) refuse the file before any stage writes a thing."""
    if "identifier" in frame.columns:
        from geetiles.names import check_identifiers

        check_identifiers(frame["identifier"], f"tiles file {path.name!r}")


def check_identifier_column(path: str | os.PathLike[str]) -> None:
    """The identifiers of a tiles file, checked from its GeoParquet twin (one column, a fraction of a
    second for a million chips) when it has one in sync: for stages that refuse bad input before any
    stage runs. A GeoJSON alone is checked when a stage loads it (GDAL parses a million chips' GeoJSON in
    ~15 s even for one column: not worth doing twice); still before anything is written."""
    import pyarrow.parquet as pq

    from geetiles.names import check_identifiers

    path = Path(path)
    geojson = geojson_path(path)
    twin = twin_path(geojson)
    try:
        if not twin.exists() or geojson.exists() and not twin_in_sync(twin, geojson):
            return
        if "identifier" not in pq.read_schema(twin).names:
            return
        column = pq.read_table(twin, columns=["identifier"]).column("identifier")
    except Exception:  # unreadable: the stage that reads it says so in its own words
        return
    check_identifiers(column, f"tiles file {geojson.name!r}")


def _from_twin(path: Path):
    import pyarrow.parquet as pq

    from geetiles.geoarrow import read_geoparquet

    frame = read_geoparquet(path)
    _check_identifiers(frame, geojson_path(path))
    frame = _with_objects(frame, path)
    hidden = (pq.read_schema(path).metadata or {}).get(TWIN_ONLY_KEY)
    if hidden:
        frame.attrs[TWIN_ONLY_ATTR] = [c for c in json.loads(hidden) if c in frame.columns]
    return frame


def _with_objects(frame, path: Path):
    """JSON-object columns as dicts (the twin holds them as text; GDAL may give text too). Text that is
    not JSON (a file edited by hand, or not written by geetiles) refuses the file in one line."""
    for column in (c for c in frame.columns if is_json_column(str(c))):
        values = frame[column].tolist()
        if any(isinstance(v, str) for v in values):
            try:
                frame[column] = text_objects(values)
            except (ValueError, RecursionError) as error:  # decode errors; json's on nesting too deep
                raise UserInputError(
                    f"tiles file {path.name!r}: column {column!r} holds text that is not a JSON object ({error}); "
                    f"fix that value, or drop the column and run the stage that makes it again"
                ) from None
    return frame
