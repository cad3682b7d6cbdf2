"""``geet mosaic.fromvals``: paint one column of a tiles file, chip by chip, into a GeoTIFF.

A tool on finished outputs, not a stage: it runs directly (no Hydra composition) and records what it
wrote beside it (``{output stem}.geetiles.yaml``: command, options, summary)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from geetiles.cli.options import metres, write_tool_record


def add_parser(commands) -> None:
    fromvals = commands.add_parser(
        "mosaic.fromvals",
        help="paint one column of a tiles file, chip by chip, into a GeoTIFF",
        description="Rasterise the chips' footprints with one column's values (EPSG:4326 "
        "COG): numbers as float32 (nodata NaN); text such as the split as "
        "codes 1..K with a code table and a colour table (nodata 0).",
    )
    fromvals.add_argument("--tiles_file", required=True, help="the tiles file (GeoJSON or its GeoParquet twin)")
    fromvals.add_argument("--dest_file", required=True, help="the GeoTIFF to write (*.tif; replaced atomically)")
    fromvals.add_argument(
        "--meters_per_pixel",
        required=True,
        type=metres,
        help="pixel size in metres, converted to degrees at the centre latitude",
    )
    fromvals.add_argument(
        "--column",
        default=None,
        help="the column to paint (default: value, as geetiles 0.1.7, else split, else area_km2)",
    )
    fromvals.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    from geetiles.tools.mosaic import paint_values

    summary = paint_values(args.tiles_file, args.dest_file, args.meters_per_pixel, args.column)
    write_tool_record(
        summary.dest_file,
        argv,
        "mosaic.fromvals",
        {
            "tiles_file": str(Path(args.tiles_file).resolve()),
            "dest_file": str(summary.dest_file.resolve()),
            "meters_per_pixel": args.meters_per_pixel,
            "column": summary.column,
        },
        {
            "chips": summary.chips,
            "painted": summary.painted,
            "kind": summary.kind,
            "categories": {int(k): v for k, v in summary.categories.items()},
            "crs": "EPSG:4326",
            "width": summary.width,
            "height": summary.height,
            "pixel_size": [float(v) for v in summary.pixel_size],
            "dtype": summary.dtype,
            "nodata": None if math.isnan(summary.nodata) else summary.nodata,
            "elapsed_s": round(summary.seconds, 3),
        },
    )
    print(summary.line())
