"""Writing tiles files: the GeoJSON (0.1.7's layout or geetiles' own) and its GeoParquet twin."""

from __future__ import annotations

import os
from pathlib import Path

from geetiles.atomic import atomic_path
from geetiles.layout import twin_path
from geetiles.tiles.load import LEGACY_LAYOUT_ATTR, TWIN_ONLY_ATTR


def write_tiles(tiles, geojson_path: str | os.PathLike[str], twin_only=(), geojson: bool = True) -> Path:
    """Write the GeoJSON (as the original does, CRS84) and its GeoParquet twin, each atomically.

    ``tiles`` is a GeoDataFrame or a ``Chips``; legacy chips (or a frame with
    ``attrs[LEGACY_LAYOUT_ATTR]``) are written in the original's layout, byte for byte. Columns in
    ``twin_only`` (and in ``attrs[TWIN_ONLY_ATTR]``, as loaded) go into the twin only. With
    ``geojson=False`` only the twin is written, marked ahead of the GeoJSON (the GeoJSON must exist):
    a stage inside a run (:mod:`geetiles.tiles.updates`)."""
    write_tiles_and_twin(tiles, geojson_path, twin_only, geojson)
    return Path(geojson_path)


def write_tiles_and_twin(tiles, geojson_path, twin_only=(), geojson: bool = True, twin_table=None):
    """:func:`write_tiles`, returning the twin's Arrow table (None for 0.1.7's layout and for ``Chips``,
    whose twins are built apart) so that a run's flush can pass it back as ``twin_table`` for the same
    frame: the twin is then rewritten in sync with the new GeoJSON without being built again."""
    from geetiles.tiles.geojson import in_lonlat, write_geojson
    from geetiles.tiles.legacy import write_legacy
    from geetiles.tiles.twin import write_frame_twin, write_twin_beside

    geojson_path = Path(geojson_path)
    if hasattr(tiles, "to_geodataframe"):  # Chips
        if tiles.legacy:
            write_legacy(
                tiles.columns(),
                tiles.geometry,
                geojson_path,
                twin_only,
                geojson=geojson,
            )
            return None
        tiles = tiles.to_geodataframe()
    hidden = [c for c in dict.fromkeys([*twin_only, *tiles.attrs.get(TWIN_ONLY_ATTR, ())]) if c in tiles.columns]
    if tiles.attrs.get(LEGACY_LAYOUT_ATTR):
        lonlat = in_lonlat(tiles)
        columns = {name: lonlat[name].to_numpy() for name in lonlat.columns if name != lonlat.geometry.name}
        write_legacy(columns, lonlat.geometry.values, geojson_path, hidden, geojson=geojson)
        return None
    if geojson:

        def geojson_written() -> Path:
            with atomic_path(geojson_path) as tmp:
                write_geojson(tiles.drop(columns=hidden) if hidden else tiles, tmp, name=geojson_path.stem)
            return geojson_path

        return write_twin_beside(tiles, twin_path(geojson_path), geojson_written, hidden, table=twin_table)
    return write_frame_twin(
        tiles,
        twin_path(geojson_path),
        geojson_path.stat(),
        hidden,
        geojson_behind=not geojson,
        table=twin_table,
    )
