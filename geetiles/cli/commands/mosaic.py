"""``geet mosaic``: one Cloud-Optimised GeoTIFF of every chip in a chip folder.

A tool on finished outputs, not a stage: it runs directly (no Hydra composition) and records what it
wrote beside it (``{output stem}.geetiles.yaml``: command, options, summary)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from geetiles.cli.options import metres, write_tool_record


def add_parser(commands) -> None:
    mosaic = commands.add_parser(
        "mosaic",
        help="one Cloud-Optimised GeoTIFF of every chip in a chip folder",
        description="Mosaic every *.tif of a chip folder into one COG (Deflate, overviews), "
        "in the chips' CRS when they share one projected CRS (e.g. one UTM "
        "zone), else in EPSG:4326; nearest-neighbour; nodata respected.",
    )
    mosaic.add_argument("--basedir", required=True, help="the chip folder, e.g. {tiles base}/{dataset}")
    mosaic.add_argument("--dest_file", required=True, help="the mosaic to write (*.tif; replaced atomically)")
    mosaic.add_argument(
        "--meters_per_pixel",
        required=True,
        type=metres,
        help="pixel size in metres (in EPSG:4326: converted to degrees at the mosaic's centre latitude)",
    )
    mosaic.add_argument(
        "--channels", default=None, help="0-based bands to keep, e.g. 0,1,2 or [0,1,2] (default: every band)"
    )
    mosaic.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    from geetiles.tools.mosaic import build_mosaic, parse_channels

    channels = parse_channels(args.channels)
    summary = build_mosaic(args.basedir, args.dest_file, args.meters_per_pixel, channels)
    write_tool_record(
        summary.dest_file,
        argv,
        "mosaic",
        {
            "basedir": str(Path(args.basedir).resolve()),
            "dest_file": str(summary.dest_file.resolve()),
            "meters_per_pixel": args.meters_per_pixel,
            "channels": channels,
        },
        {
            "chips": summary.chips,
            "chip_crs": summary.crss,
            "crs": summary.crs,
            "crs_reason": summary.why,
            "width": summary.width,
            "height": summary.height,
            "pixel_size": [float(v) for v in summary.pixel_size],
            "bounds": [float(v) for v in summary.bounds],
            "bands": summary.bands,
            "dtype": summary.dtype,
            "nodata": None if math.isnan(summary.nodata) else summary.nodata,
            "elapsed_s": round(summary.seconds, 3),
        },
    )
    print(summary.line())
