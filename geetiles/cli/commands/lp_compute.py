"""``geet lp.compute``: every chip's label proportions, from its downloaded label chip."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import labels_dataset, run_overrides


def add_parser(commands) -> None:
    lp_compute = commands.add_parser(
        "lp.compute", help="label proportions of every chip from its downloaded label chip"
    )
    lp_compute.add_argument("--tiles_file", required=True, help="the chips' tiles file (gets {dataset}_proportions)")
    which_labels = lp_compute.add_mutually_exclusive_group()
    which_labels.add_argument(
        "--labels_dataset_def", help="the labels dataset, e.g. esa-world-cover (its chips are downloaded)"
    )
    which_labels.add_argument("--dataset_name", help="the same (the name geetiles 0.1.7's README shows)")
    lp_compute.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    name = labels_dataset(args)
    run_overrides(
        [
            "stages=[proportions]",
            "proportions=local",
            "labels=none",
            f"proportions.tiles_file={quote(args.tiles_file)}",
            f"proportions.dataset={quote(name)}",
            f"proportions.definition={quote(name)}",
        ],
        argv,
    )
