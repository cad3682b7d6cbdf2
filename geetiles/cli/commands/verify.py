"""``geet verify DATASET``: check an exported dataset (its folder or zip) file by file.

A tool on finished outputs: it runs directly, writes nothing, prints one line per problem and a
summary line, and exits 0 (no problem) or 1 (problems); a path that is not a dataset is one line and
exit status 2. The checks are ``geetiles.verify``'s (``verify_dataset``, the same in Python)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

EXIT_PROBLEMS = 1


def add_parser(commands) -> None:
    verify = commands.add_parser(
        "verify",
        help="check an exported dataset: checksums, every chip decoded against the index, splits, card",
        description="Check the dataset the export wrote (its folder or {dest}.zip): MANIFEST.sha256; every chip "
        "present, hashing to the index's SHA-256 and decoding to the index's shape, dtype, CRS and "
        "transform; no chip file outside the index; disjoint splits agreeing with splits/*.parquet; "
        "the card's data_files; the WebDataset shards; STAC and Croissant files when present. One line "
        "per problem, then a summary; exit status 0 (no problem), 1 (problems) or 2 (not a dataset).",
    )
    verify.add_argument("dataset", help="the dataset folder ({tiles file}_dataset) or its zip")
    verify.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="worker processes (default: one per core for 5,000 chips or more, else none)",
    )
    verify.set_defaults(handler=run)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    from geetiles.verify import verify_dataset

    report = verify_dataset(args.dataset, workers=args.workers)
    print("\n".join(report.lines()), flush=True)
    if not report.ok:
        raise SystemExit(EXIT_PROBLEMS)
