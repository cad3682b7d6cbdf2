"""Tiles files: the one reader and writer of them.

A tiles file is 0.1.7's GeoJSON (``{dest}/{aoi}_partitions_{tiles}_{hash}.geojson``, :mod:`.names`)
with a GeoParquet twin that loads in a fraction of the time (:mod:`.twin`). Files in 0.1.7's layout are
written byte for byte as 0.1.7 wrote them (:mod:`.legacy`, numbers by :mod:`.gdal_text`), others in
geetiles' own (:mod:`.geojson`). :mod:`.load` reads either; :mod:`.updates` is how stages of a run
update a file (locked by :mod:`.lock`, twin per stage, GeoJSON once). Paths beside a tiles file come
from :mod:`geetiles.layout`.
"""

from geetiles.layout import twin_path
from geetiles.tiles.load import (
    LEGACY_LAYOUT_ATTR,
    TWIN_ONLY_ATTR,
    check_identifier_column,
    load_tiles,
)
from geetiles.tiles.names import (
    check_name,
    existing_tiles_file,
    is_json_column,
    parse_tiles_file_name,
    stage_tiles_file,
    tiles_file_path,
)
from geetiles.tiles.twin import twin_in_sync
from geetiles.tiles.write import write_tiles

__all__ = [
    "LEGACY_LAYOUT_ATTR",
    "TWIN_ONLY_ATTR",
    "check_identifier_column",
    "check_name",
    "existing_tiles_file",
    "stage_tiles_file",
    "is_json_column",
    "load_tiles",
    "parse_tiles_file_name",
    "tiles_file_path",
    "twin_in_sync",
    "twin_path",
    "write_tiles",
]
