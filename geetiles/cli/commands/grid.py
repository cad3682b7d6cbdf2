"""``geet grid``: geetiles 0.1.7's grid of chips over an AOI, the same file bit for bit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import positive_number, run_overrides


def add_parser(commands) -> None:
    grid = commands.add_parser("grid", help="make a grid of chips over an AOI (same file as geetiles 0.1.7)")
    grid.add_argument("--aoi_wkt_file", required=True, help="file with the AOI as lon/lat WKT")
    grid.add_argument("--chip_size_meters", required=True, type=positive_number, help="chip side in metres")
    grid.add_argument("--aoi_name", required=True, help="AOI name used in the file name (no '_')")
    grid.add_argument("--dest_dir", required=True, help="folder for the tiles file (created if missing)")
    grid.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    _no_blas_threads()
    run_overrides(
        [
            "aoi=wkt",
            f"aoi.wkt_file={quote(args.aoi_wkt_file)}",
            f"aoi.name={quote(args.aoi_name)}",
            "tiling=grid",
            f"tiling.chip_size_m={args.chip_size_meters}",
            f"data_dir={quote(args.dest_dir)}",
            "stages=[tiling]",
        ],
        argv,
    )


def _no_blas_threads() -> None:
    """Tiling does no linear algebra: spare OpenBLAS starting its thread pool when numpy loads
    (``bench/grid_startup.py`` times the whole command). Only before numpy's first import, and never
    over the user's own setting."""
    import os

    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
