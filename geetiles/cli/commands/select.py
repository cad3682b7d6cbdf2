"""``geet select``: the units of a vector file (communes, districts) that overlap an AOI, as a tiles file."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import finite_number, run_overrides


def add_parser(commands) -> None:
    select = commands.add_parser(
        "select", help="take the units (communes, districts) of a vector file that overlap an AOI"
    )
    select.add_argument(
        "--orig_shapefile",
        required=True,
        help="vector file GDAL reads, any CRS (GeoPackage, GeoJSON, Shapefile or .zip of one, FlatGeobuf, GeoParquet)",
    )
    select.add_argument("--aoi_wkt_file", required=True, help="file with the AOI as lon/lat WKT")
    select.add_argument("--tiles_name", required=True, help="units' name used in the file name, e.g. communes (no '_')")
    select.add_argument("--aoi_name", required=True, help="AOI name used in the file name (no '_')")
    select.add_argument("--dest_dir", required=True, help="folder for the tiles file (created if missing)")
    select.add_argument(
        "--min_overlap_km2",
        type=finite_number,
        default=0.001,
        help="drop units overlapping the AOI less than this, in km² (default 0.001)",
    )
    select.add_argument("--clip", action="store_true", help="clip the units to the AOI (the original never clipped)")
    select.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    run_overrides(
        [
            "aoi=wkt",
            f"aoi.wkt_file={quote(args.aoi_wkt_file)}",
            f"aoi.name={quote(args.aoi_name)}",
            "tiling=select",
            f"tiling.file={quote(args.orig_shapefile)}",
            f"tiling.name={quote(args.tiles_name)}",
            f"tiling.min_overlap_km2={args.min_overlap_km2}",
            f"tiling.clip={str(args.clip).lower()}",
            f"data_dir={quote(args.dest_dir)}",
            "stages=[tiling]",
        ],
        argv,
    )
