"""``geet mosaic``, ``geet mosaic.fromvals`` and ``geet cleanup``: tools on finished outputs.

They are tools, not pipeline stages: they run directly (no Hydra composition), and each records
what it wrote beside it (``{output stem}.geetiles.yaml``: command, options, summary). Handlers take
``(args, argv)`` like every ``geet`` command, raise :class:`UserInputError` for bad input, and are
run by ``run_reporting`` (one line and exit status 2).

``add_tool_commands(commands)`` registers them on ``geet``'s sub-parsers; until ``geet`` does,
``python -m geetiles.cli.geet_tools COMMAND ...`` runs them with the same parser rules.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import types
from collections.abc import Sequence
from pathlib import Path


def metres(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of metres")
    return value


def add_tool_commands(commands) -> None:
    """Register mosaic, mosaic.fromvals and cleanup on an ``add_subparsers`` object."""
    mosaic = commands.add_parser("mosaic", help="one Cloud-Optimised GeoTIFF of every chip in a chip folder",
                                 description="Mosaic every *.tif of a chip folder into one COG (Deflate, overviews), "
                                             "in the chips' CRS when they share one projected CRS (e.g. one UTM "
                                             "zone), else in EPSG:4326; nearest-neighbour; nodata respected.")
    mosaic.add_argument("--basedir", required=True, help="the chip folder, e.g. {tiles base}/{dataset}")
    mosaic.add_argument("--dest_file", required=True, help="the mosaic to write (*.tif; replaced atomically)")
    mosaic.add_argument("--meters_per_pixel", required=True, type=metres,
                        help="pixel size in metres (in EPSG:4326: converted to degrees at the mosaic's centre latitude)")
    mosaic.add_argument("--channels", default=None,
                        help="0-based bands to keep, e.g. 0,1,2 or [0,1,2] (default: every band)")
    mosaic.set_defaults(handler=cmd_mosaic)

    fromvals = commands.add_parser("mosaic.fromvals", help="paint one column of a tiles file, chip by chip, into a GeoTIFF",
                                   description="Rasterise the chips' footprints with one column's values (EPSG:4326 "
                                               "COG): numbers as float32 (nodata NaN); text such as the split as "
                                               "codes 1..K with a code table and a colour table (nodata 0).")
    fromvals.add_argument("--tiles_file", required=True, help="the tiles file (GeoJSON or its GeoParquet twin)")
    fromvals.add_argument("--dest_file", required=True, help="the GeoTIFF to write (*.tif; replaced atomically)")
    fromvals.add_argument("--meters_per_pixel", required=True, type=metres,
                          help="pixel size in metres, converted to degrees at the centre latitude")
    fromvals.add_argument("--column", default=None,
                          help="the column to paint (default: value, as geetiles 0.1.7, else split, else area_km2)")
    fromvals.set_defaults(handler=cmd_mosaic_fromvals)

    cleanup = commands.add_parser("cleanup", help="remove unreadable GeoTIFFs from a chip folder so a rerun fetches them",
                                  description="Remove every *.tif GDAL cannot open and decode in full, one line per "
                                              "file, and mark those chips 'removed' in the folder's manifest.csv so "
                                              "the next download fetches them again. Readable files are not touched. "
                                              "Exit status 0, or 1 if some file could not be read or removed at all.")
    cleanup.add_argument("--basedir", required=True, help="the chip folder, e.g. {tiles base}/{dataset}")
    cleanup.set_defaults(handler=cmd_cleanup)


def _record(output: Path, argv: Sequence[str], stage: str, options: dict, extra: dict) -> None:
    from geetiles.record import write_record

    run = types.SimpleNamespace(command=shlex.join(["geet", *argv]), resolved={stage: options})
    write_record(output, run, stage=stage, extra=extra)


def cmd_mosaic(args: argparse.Namespace, argv: Sequence[str]) -> None:
    from geetiles.tools.mosaic import build_mosaic, parse_channels

    channels = parse_channels(args.channels)
    summary = build_mosaic(args.basedir, args.dest_file, args.meters_per_pixel, channels)
    _record(summary.dest_file, argv, "mosaic",
            {"basedir": str(Path(args.basedir).resolve()), "dest_file": str(summary.dest_file.resolve()),
             "meters_per_pixel": args.meters_per_pixel, "channels": channels},
            {"chips": summary.chips, "chip_crs": summary.crss, "crs": summary.crs, "crs_reason": summary.why,
             "width": summary.width, "height": summary.height, "pixel_size": [float(v) for v in summary.pixel_size],
             "bounds": [float(v) for v in summary.bounds], "bands": summary.bands, "dtype": summary.dtype,
             "nodata": None if math.isnan(summary.nodata) else summary.nodata,
             "elapsed_s": round(summary.seconds, 3)})
    print(summary.line())


def cmd_mosaic_fromvals(args: argparse.Namespace, argv: Sequence[str]) -> None:
    from geetiles.tools.mosaic import paint_values

    summary = paint_values(args.tiles_file, args.dest_file, args.meters_per_pixel, args.column)
    _record(summary.dest_file, argv, "mosaic.fromvals",
            {"tiles_file": str(Path(args.tiles_file).resolve()), "dest_file": str(summary.dest_file.resolve()),
             "meters_per_pixel": args.meters_per_pixel, "column": summary.column},
            {"chips": summary.chips, "painted": summary.painted, "kind": summary.kind,
             "categories": {int(k): v for k, v in summary.categories.items()}, "crs": "EPSG:4326",
             "width": summary.width, "height": summary.height, "pixel_size": [float(v) for v in summary.pixel_size],
             "dtype": summary.dtype, "nodata": None if math.isnan(summary.nodata) else summary.nodata,
             "elapsed_s": round(summary.seconds, 3)})
    print(summary.line())


def cmd_cleanup(args: argparse.Namespace, argv: Sequence[str]) -> None:
    from geetiles.tools.cleanup import cleanup

    summary = cleanup(args.basedir)
    if summary.removed:  # the folder changed: say how, beside it (the download's own record is left alone)
        _record(summary.directory / "cleanup", argv, "cleanup", {"basedir": str(summary.directory.resolve())},
                {"checked": summary.checked, "removed": [{"file": p.name, "reason": r} for p, r in summary.removed],
                 "manifest_rows_marked_removed": summary.manifest_rows, "elapsed_s": round(summary.seconds, 3)})
    print(summary.line())
    if summary.skipped:
        from geetiles.errors import RunFailed

        path, reason = summary.skipped[0]
        raise RunFailed(f"{len(summary.skipped)} file(s) in {summary.directory} could not be checked or removed "
                        f"(first: {path.name}: {reason}); fix their permissions and rerun")


def main(argv: Sequence[str] | None = None) -> None:
    """These three commands alone, with geet's parser rules (until ``geet`` registers them)."""
    from geetiles.cli.errors import run_reporting
    from geetiles.cli.geet import OneLineParser

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = OneLineParser(prog="geet", description="geetiles tools: mosaic, mosaic.fromvals, cleanup")
    commands = parser.add_subparsers(title="commands", dest="cmd", metavar="COMMAND", parser_class=OneLineParser)
    add_tool_commands(commands)
    args = parser.parse_args(argv)
    if args.cmd is None:
        parser.print_help()
        raise SystemExit(0)
    run_reporting(lambda: args.handler(args, argv))


if __name__ == "__main__":
    main()
