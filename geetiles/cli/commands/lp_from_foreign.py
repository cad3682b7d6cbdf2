"""``geet lp.from_foreign``: mix onto every chip the label proportions of the foreign units it overlaps."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import labels_dataset, run_overrides


def add_parser(commands) -> None:
    lp_foreign = commands.add_parser(
        "lp.from_foreign", help="mix the label proportions of the foreign units each chip overlaps"
    )
    lp_foreign.add_argument(
        "--tiles_file", required=True, help="the chips' tiles file (gets {dataset}_proportions_at_{name})"
    )
    lp_foreign.add_argument(
        "--foreign_tiles_file",
        required=True,
        help="the units' tiles file, with {dataset}_proportions (from lp.compute)",
    )
    lp_foreign.add_argument("--labels_dataset_def", required=True, help="the labels dataset, e.g. esa-world-cover")
    lp_foreign.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    name = labels_dataset(args)
    run_overrides(
        [
            "stages=[proportions]",
            "proportions=none",
            "labels=none",
            "proportions.from_foreign=true",
            f"proportions.tiles_file={quote(args.tiles_file)}",
            f"proportions.dataset={quote(name)}",
            f"proportions.foreign_file={quote(args.foreign_tiles_file)}",
        ],
        argv,
    )
