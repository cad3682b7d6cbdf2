"""``geet``: the commands and options of geetiles 0.1.7, each translated onto the runner.

Every command turns its options into Hydra overrides of the same config tree that
``python -m geetiles`` uses, and runs the same stages: there is no second implementation.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence

from geetiles import __version__
from geetiles.cli.compose import quote
from geetiles.cli.errors import as_user_error, exit_with
from geetiles.errors import UserInputError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        exit_with(UserInputError(f"{self.prog}: {message} (see `{self.prog} --help`)"))


def positive_number(text: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of metres")
    return int(value) if value.is_integer() else value


def run_overrides(overrides: list[str], argv: Sequence[str]) -> None:
    """Compose ``overrides`` and run the stages they select, recording the geet command line."""
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment
    from geetiles.runner import run_experiment

    run_experiment(Experiment.from_config(compose(overrides), command=shlex.join(["geet", *argv])))


def cmd_grid(args: argparse.Namespace, argv: Sequence[str]) -> None:
    run_overrides(
        [
            "aoi=wkt", f"aoi.wkt_file={quote(args.aoi_wkt_file)}", f"aoi.name={quote(args.aoi_name)}",
            "tiling=grid", f"tiling.chip_size_m={args.chip_size_meters}",
            f"data_dir={quote(args.dest_dir)}", "stages=[tiling]",
        ],
        argv,
    )


def cmd_aois(args: argparse.Namespace, argv: Sequence[str]) -> None:
    if args.showall:
        from geetiles.aoi.countries import region_table

        rows = region_table()
        for name, iso, continent in rows:
            print(f"{iso or '-':4} {name:40} {continent}")
        print(f"{len(rows)} countries; a continent name selects all its countries")
        return
    overrides = ["aoi=country", f"aoi.country={quote(args.extract)}", f"data_dir={quote(args.dest_dir)}", "stages=[aoi]"]
    if args.aoi_name:
        overrides.append(f"aoi.name={quote(args.aoi_name)}")
    run_overrides(overrides, argv)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="geet", description=f"geetiles {__version__}: the classic geetiles commands")
    parser.add_argument("--version", action="version", version=f"geetiles {__version__}")
    commands = parser.add_subparsers(title="commands", dest="cmd", metavar="COMMAND", parser_class=OneLineParser)

    grid = commands.add_parser("grid", help="make a grid of chips over an AOI (same file as geetiles 0.1.7)")
    grid.add_argument("--aoi_wkt_file", required=True, help="file with the AOI as lon/lat WKT")
    grid.add_argument("--chip_size_meters", required=True, type=positive_number, help="chip side in metres")
    grid.add_argument("--aoi_name", required=True, help="AOI name used in the file name (no '_')")
    grid.add_argument("--dest_dir", required=True, help="folder for the tiles file (created if missing)")
    grid.set_defaults(handler=cmd_grid)

    aois = commands.add_parser("aois", help="list the bundled countries, or extract one as a WKT file")
    which = aois.add_mutually_exclusive_group(required=True)
    which.add_argument("--showall", action="store_true", help="list every country name and ISO code")
    which.add_argument("--extract", metavar="NAME", help="country name, ISO alpha-3 code or continent")
    aois.add_argument("--dest_dir", default=".", help="folder for NAME.wkt (default: current folder)")
    aois.add_argument("--aoi_name", default=None, help="name of the written file (default: from NAME)")
    aois.set_defaults(handler=cmd_aois)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cmd is None:
        parser.print_help()
        raise SystemExit(0)
    _configure_logging()
    handler: Callable[[argparse.Namespace, Sequence[str]], None] = args.handler
    try:
        handler(args, argv)
    except Exception as error:
        user_error = as_user_error(error)
        if user_error is None:
            raise
        exit_with(user_error)


def _configure_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)


if __name__ == "__main__":
    main()
