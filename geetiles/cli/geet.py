"""``geet``: the commands and options of geetiles 0.1.7, each translated onto the runner.

Every stage command turns its options into Hydra overrides of the same config tree that
``python -m geetiles`` uses, and runs the same stages: there is no second implementation. The tools
(``mosaic``, ``mosaic.fromvals``, ``cleanup``) run directly on finished outputs. Each command is one
module of ``geetiles.cli.commands``; this module only assembles their parsers and dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from geetiles import __version__
from geetiles.cli.commands import (
    aois,
    cleanup,
    download,
    grid,
    intersect,
    lp_compute,
    lp_from_foreign,
    mosaic,
    mosaic_fromvals,
    random,
    select,
    split,
    verify,
    zip_dataset,
)
from geetiles.cli.errors import run_reporting
from geetiles.cli.options import OneLineParser

COMMANDS = (
    grid,
    random,
    select,
    intersect,
    split,
    lp_compute,
    lp_from_foreign,
    zip_dataset,
    download,
    aois,
    mosaic,
    mosaic_fromvals,
    cleanup,
    verify,
)  # in the order `geet --help` lists them


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="geet", description=f"geetiles {__version__}: the classic geetiles commands")
    parser.add_argument("--version", action="version", version=f"geetiles {__version__}")
    commands = parser.add_subparsers(title="commands", dest="cmd", metavar="COMMAND", parser_class=OneLineParser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run one geet command; bad input ends with one line and SystemExit(2), failed work with SystemExit(1)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cmd is None:
        parser.print_help()
        raise SystemExit(0)
    _configure_logging()
    handler: Callable[[argparse.Namespace, Sequence[str]], None] = args.handler
    run_reporting(lambda: handler(args, argv))


def _configure_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    logging.getLogger("rasterio").setLevel(logging.CRITICAL)  # GDAL's errors reach the user as our own one line


def console() -> None:
    """The ``geet`` command: main(), then a fast exit (see fast_exit)."""
    from geetiles.cli.fast_exit import run_then_exit

    run_then_exit(main)


if __name__ == "__main__":
    console()
