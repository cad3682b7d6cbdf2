"""``geet zip.dataset``: geetiles 0.1.7's zip of one pickle per chip (``export.formats=[legacy_zip]``),
from any working directory, with or without labels."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import run_overrides
from geetiles.errors import UserInputError


def add_parser(commands) -> None:
    zip_dataset = commands.add_parser(
        "zip.dataset", help="pack the chips as geetiles 0.1.7's zip of one pickle per chip"
    )
    zip_dataset.add_argument(
        "--tiles_file",
        required=True,
        help="the chips' tiles file; the zip and its folder go beside it, {aoi}_{images}[_{labels}]",
    )
    zip_dataset.add_argument(
        "--images_dataset_def",
        required=True,
        help="the images dataset (its chip folder's name), e.g. sentinel2-rgb-median-2020",
    )
    zip_dataset.add_argument("--labels_dataset_def", help="the labels dataset, e.g. esa-world-cover (optional)")
    zip_dataset.add_argument(
        "--foreign_tiles_file",
        help="the foreign units' tiles file: copied, and its ids and proportions go into label_proportions",
    )
    zip_dataset.add_argument("--readme_file", help="a file copied into the zip as README.txt")
    zip_dataset.add_argument(
        "--skip_missing",
        action="store_true",
        help="leave out chips whose image (or label) is missing or corrupt, as 0.1.7 did "
        "silently; "
        "they are listed and the exit status is 1 (default: refuse, nothing written)",
    )
    zip_dataset.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    for option, name in (
        ("--images_dataset_def", args.images_dataset_def),
        ("--labels_dataset_def", args.labels_dataset_def),
    ):
        if name is not None and (not name or name.endswith(".py") or "/" in name or "\\" in name):
            raise UserInputError(
                f"{option} {name!r}: give the dataset's name (its chip folder beside the tiles file, "
                "e.g. sentinel2-rgb-median-2020 or esa-world-cover)"
            )
    overrides = [
        "stages=[export]",
        "export.formats=[legacy_zip]",
        "source=none",
        "labels=none",
        f"export.tiles_file={quote(args.tiles_file)}",
        f"export.images={quote(args.images_dataset_def)}",
    ]
    optional = {
        "export.labels": args.labels_dataset_def,
        "export.foreign_file": args.foreign_tiles_file,
        "export.readme_file": args.readme_file,
    }
    overrides += [f"{key}={quote(value)}" for key, value in optional.items() if value is not None]
    if args.skip_missing:
        overrides.append("export.on_missing=skip")
    run_overrides(overrides, argv)
