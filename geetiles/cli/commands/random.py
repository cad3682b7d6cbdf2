"""``geet random``: the original's random partitions of an AOI (its "katana" cuts), seeded."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import positive_number, run_overrides, seed_number


def add_parser(commands) -> None:
    random = commands.add_parser("random", help="cut an AOI into random rectangles (the original's partitions, seeded)")
    random.add_argument("--aoi_wkt_file", required=True, help="file with the AOI as lon/lat WKT")
    random.add_argument(
        "--max_rectangle_size_meters",
        required=True,
        type=positive_number,
        help="longest side of a piece's UTM bounding box, in metres",
    )
    random.add_argument("--aoi_name", required=True, help="AOI name used in the file name (no '_')")
    random.add_argument("--dest_dir", required=True, help="folder for the tiles file (created if missing)")
    random.add_argument(
        "--seed", type=seed_number, default=0, help="random seed: the same seed gives the same file (default 0)"
    )
    random.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    run_overrides(
        [
            "aoi=wkt",
            f"aoi.wkt_file={quote(args.aoi_wkt_file)}",
            f"aoi.name={quote(args.aoi_name)}",
            "tiling=random",
            f"tiling.max_size_m={args.max_rectangle_size_meters}",
            f"tiling.seed={args.seed}",
            f"data_dir={quote(args.dest_dir)}",
            "stages=[tiling]",
        ],
        argv,
    )
