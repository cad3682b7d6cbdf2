"""``geet intersect``: every chip gets the id of the foreign unit it overlaps most (``foreignid_{name}``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import run_overrides


def add_parser(commands) -> None:
    intersect = commands.add_parser("intersect", help="give every chip the id of the foreign unit it overlaps most")
    intersect.add_argument("--tiles_file", required=True, help="the chips' tiles file (gets a foreignid_{name} column)")
    intersect.add_argument(
        "--foreign_tiles_file", required=True, help="the units' tiles file, {aoi}_partitions_{name}_{hash}.geojson"
    )
    intersect.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    run_overrides(
        [
            f"intersect.tiles_file={quote(args.tiles_file)}",
            f"intersect.foreign_file={quote(args.foreign_tiles_file)}",
            "stages=[intersect]",
        ],
        argv,
    )
