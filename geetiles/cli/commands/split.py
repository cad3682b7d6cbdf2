"""``geet split``: geetiles 0.1.7's train/val/test split by angled bands (``split=legacy``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import finite_number, run_overrides


def add_parser(commands) -> None:
    split = commands.add_parser(
        "split", help="split the chips into train/val/test by angled bands (geetiles 0.1.7's split)"
    )
    split.add_argument(
        "--tiles_file", required=True, help="the chips' tiles file (gets a split column, and *_splits.csv)"
    )
    split.add_argument("--nbands", required=True, type=int, help="number of bands")
    split.add_argument("--angle", required=True, type=finite_number, help="band angle in radians, in [-pi/2, pi/2]")
    split.add_argument("--train_pct", required=True, type=finite_number, help="share of train, e.g. .5")
    split.add_argument("--test_pct", required=True, type=finite_number, help="share of test, e.g. .3")
    split.add_argument("--val_pct", required=True, type=finite_number, help="share of val, e.g. .2")
    split.add_argument(
        "--foreign_tiles_name", help="also split_{name}: the majority split of each foreignid_{name} unit"
    )
    split.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    overrides = [
        "split=legacy",
        f"split.tiles_file={quote(args.tiles_file)}",
        f"split.nbands={args.nbands}",
        f"split.angle={args.angle!r}",
        f"split.fractions=[{args.train_pct!r},{args.val_pct!r},{args.test_pct!r}]",
        "stages=[split]",
    ]
    if args.foreign_tiles_name:
        overrides.append(f"split.foreign_name={quote(args.foreign_tiles_name)}")
    run_overrides(overrides, argv)
