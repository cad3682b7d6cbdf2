"""``geet aois``: list the bundled countries, or extract one (or a continent) as a WKT file."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import run_overrides


def add_parser(commands) -> None:
    aois = commands.add_parser("aois", help="list the bundled countries, or extract one as a WKT file")
    which = aois.add_mutually_exclusive_group(required=True)
    which.add_argument("--showall", action="store_true", help="list every country name and ISO code")
    which.add_argument("--extract", metavar="NAME", help="country name, ISO alpha-3 code or continent")
    aois.add_argument("--dest_dir", default=".", help="folder for NAME.wkt (default: current folder)")
    aois.add_argument("--aoi_name", default=None, help="name of the written file (default: from NAME)")
    aois.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    if args.showall:
        from geetiles.regions.countries import region_table

        rows = region_table()
        for name, iso, continent in rows:
            print(f"{iso or '-':4} {name:40} {continent}")
        print(f"{len(rows)} countries; a continent name selects all its countries")
        return
    overrides = [
        "aoi=country",
        f"aoi.country={quote(args.extract)}",
        f"data_dir={quote(args.dest_dir)}",
        "stages=[aoi]",
    ]
    if args.aoi_name:
        overrides.append(f"aoi.name={quote(args.aoi_name)}")
    run_overrides(overrides, argv)
