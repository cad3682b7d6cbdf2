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
from geetiles.cli.errors import exit_with, run_reporting
from geetiles.errors import UserInputError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        exit_with(UserInputError(f"{self.prog}: {message} (see `{self.prog} --help`)"))


def finite_number(text: str) -> float:
    """A float option; NaN and infinity named as such (they slip through range checks)."""
    from geetiles.numbers import not_finite_reason

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    reason = not_finite_reason(value)
    if reason is not None:
        raise argparse.ArgumentTypeError(f"{text!r} is {reason}; give a finite number")
    return value


def positive_number(text: str) -> float | int:
    value = finite_number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of metres")
    return int(value) if value.is_integer() else value


def run_overrides(overrides: list[str], argv: Sequence[str]) -> None:
    """Compose ``overrides`` and run the stages they select, recording the geet command line.

    The composition is Hydra's (see ``compose``)."""
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment
    from geetiles.runner import run_experiment

    run_experiment(Experiment.from_config(compose(overrides), command=shlex.join(["geet", *argv])))


def cmd_grid(args: argparse.Namespace, argv: Sequence[str]) -> None:
    _no_blas_threads()
    run_overrides(
        [
            "aoi=wkt", f"aoi.wkt_file={quote(args.aoi_wkt_file)}", f"aoi.name={quote(args.aoi_name)}",
            "tiling=grid", f"tiling.chip_size_m={args.chip_size_meters}",
            f"data_dir={quote(args.dest_dir)}", "stages=[tiling]",
        ],
        argv,
    )


def _no_blas_threads() -> None:
    """Tiling does no linear algebra: spare OpenBLAS starting its thread pool when numpy loads (~60 ms
    of a ~1 s command). Only before numpy's first import, and never over the user's own setting."""
    import os

    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def seed_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative integer")
    return value


def cmd_random(args: argparse.Namespace, argv: Sequence[str]) -> None:
    run_overrides(
        [
            "aoi=wkt", f"aoi.wkt_file={quote(args.aoi_wkt_file)}", f"aoi.name={quote(args.aoi_name)}",
            "tiling=random", f"tiling.max_size_m={args.max_rectangle_size_meters}", f"tiling.seed={args.seed}",
            f"data_dir={quote(args.dest_dir)}", "stages=[tiling]",
        ],
        argv,
    )


def cmd_select(args: argparse.Namespace, argv: Sequence[str]) -> None:
    run_overrides(
        [
            "aoi=wkt", f"aoi.wkt_file={quote(args.aoi_wkt_file)}", f"aoi.name={quote(args.aoi_name)}",
            "tiling=select", f"tiling.file={quote(args.orig_shapefile)}", f"tiling.name={quote(args.tiles_name)}",
            f"tiling.min_overlap_km2={args.min_overlap_km2}", f"tiling.clip={str(args.clip).lower()}",
            f"data_dir={quote(args.dest_dir)}", "stages=[tiling]",
        ],
        argv,
    )


def cmd_intersect(args: argparse.Namespace, argv: Sequence[str]) -> None:
    run_overrides([f"intersect.tiles_file={quote(args.tiles_file)}",
                   f"intersect.foreign_file={quote(args.foreign_tiles_file)}", "stages=[intersect]"], argv)


def cmd_split(args: argparse.Namespace, argv: Sequence[str]) -> None:
    overrides = ["split=legacy", f"split.tiles_file={quote(args.tiles_file)}", f"split.nbands={args.nbands}",
                 f"split.angle={args.angle!r}", f"split.fractions=[{args.train_pct!r},{args.val_pct!r},{args.test_pct!r}]",
                 "stages=[split]"]
    if args.foreign_tiles_name:
        overrides.append(f"split.foreign_name={quote(args.foreign_tiles_name)}")
    run_overrides(overrides, argv)


def labels_dataset(args: argparse.Namespace) -> str:
    """The labels dataset's name (its chip folder), from --labels_dataset_def or the README's --dataset_name."""
    name = args.labels_dataset_def or getattr(args, "dataset_name", None)
    if not name:
        raise UserInputError(f"geet {args.cmd} needs --labels_dataset_def NAME (e.g. esa-world-cover)")
    if name.endswith(".py") or "/" in name or "\\" in name:
        raise UserInputError(f"--labels_dataset_def {name!r}: give the labels dataset's name (its chip folder, e.g. "
                             "esa-world-cover); classes come from the folder's download record or the packaged recipe")
    return name


def cmd_lp_compute(args: argparse.Namespace, argv: Sequence[str]) -> None:
    name = labels_dataset(args)
    run_overrides(["stages=[proportions]", "proportions=local", "labels=none",
                   f"proportions.tiles_file={quote(args.tiles_file)}", f"proportions.dataset={quote(name)}",
                   f"proportions.definition={quote(name)}"], argv)


def cmd_lp_from_foreign(args: argparse.Namespace, argv: Sequence[str]) -> None:
    name = labels_dataset(args)
    run_overrides(["stages=[proportions]", "proportions=none", "labels=none", "proportions.from_foreign=true",
                   f"proportions.tiles_file={quote(args.tiles_file)}", f"proportions.dataset={quote(name)}",
                   f"proportions.foreign_file={quote(args.foreign_tiles_file)}"], argv)


def cmd_zip_dataset(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """geetiles 0.1.7's zip of one pickle per chip, from any working directory, with or without labels."""
    for option, name in (("--images_dataset_def", args.images_dataset_def), ("--labels_dataset_def", args.labels_dataset_def)):
        if name is not None and (not name or name.endswith(".py") or "/" in name or "\\" in name):
            raise UserInputError(f"{option} {name!r}: give the dataset's name (its chip folder beside the tiles file, e.g. "
                                 "sentinel2-rgb-median-2020 or esa-world-cover)")
    overrides = ["stages=[export]", "export.formats=[legacy_zip]", "source=none", "labels=none",
                 f"export.tiles_file={quote(args.tiles_file)}", f"export.images={quote(args.images_dataset_def)}"]
    optional = {"export.labels": args.labels_dataset_def, "export.foreign_file": args.foreign_tiles_file,
                "export.readme_file": args.readme_file}
    overrides += [f"{key}={quote(value)}" for key, value in optional.items() if value is not None]
    if args.skip_missing:
        overrides.append("export.on_missing=skip")
    run_overrides(overrides, argv)


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


INTERACTIVE_AUTH_MODES = ("notebook", "localhost", "gcloud", "gcloud-legacy", "colab")


def pixel_pair(text: str) -> list[int]:
    """``[100,100]``, ``100,100`` or ``(100, 100)``: two positive integers."""
    parts = [p for p in text.strip().strip("[]()").replace(" ", "").split(",") if p]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be two positive integers such as [100,100]")
    return values


def credentials_mode(args: argparse.Namespace) -> str:
    """The original's --ee_auth_mode, mapped onto ee.credentials (interactive modes are a one-off setup step)."""
    mode = args.ee_auth_mode or "auto"
    if mode in INTERACTIVE_AUTH_MODES:
        raise UserInputError(f"--ee_auth_mode {mode} is interactive; run `earthengine authenticate --auth_mode={mode}` once, "
                             "then rerun with --ee_auth_mode persistent")
    if mode not in ("auto", "persistent", "appdefault", "none"):
        raise UserInputError(f"--ee_auth_mode {mode!r} is not one of auto, persistent, appdefault, none")
    return args.ee_credentials or mode


def download_overrides(args: argparse.Namespace) -> list[str]:
    dataset = args.dataset_def or args.gee_image_pycode
    if not dataset:
        raise UserInputError("geet download needs --dataset_def NAME_OR_FILE (or its older name --gee_image_pycode)")
    if (args.pixels_lonlat is None) == (args.meters_per_pixel is None):
        raise UserInputError("geet download needs exactly one of --pixels_lonlat [W,H] or --meters_per_pixel M")
    overrides = [
        "stages=[download]", "source=custom", "labels=none", f"source.dataset={quote(dataset)}",
        f"download.tiles_file={quote(args.tiles_file)}", f"download.skip_if_exists={args.skip_if_exists}",
        f"download.shuffle={args.shuffle}", f"ee.credentials={quote(credentials_mode(args))}",
    ]
    optional = {
        "source.name": args.dataset_name and quote(args.dataset_name),
        "source.pixels_lonlat": args.pixels_lonlat and f"[{args.pixels_lonlat[0]},{args.pixels_lonlat[1]}]",
        "source.meters_per_pixel": args.meters_per_pixel, "download.max_in_flight": args.n_processes,
        "download.max_requests_per_s": args.max_requests_per_s, "download.max_downloads": args.max_downloads,
        "download.groups": args.groups and "[" + ",".join(quote(g) for g in args.groups.split(",") if g) + "]",
        "download.aoi": args.aoi and quote(args.aoi), "ee.project": args.project and quote(args.project),
        "ee.url": args.ee_url and quote(args.ee_url), "ray.address": args.ray_address and quote(args.ray_address),
    }
    overrides += [f"{key}={value}" for key, value in optional.items() if value is not None]
    return overrides


def cmd_download(args: argparse.Namespace, argv: Sequence[str]) -> None:
    overrides = download_overrides(args)
    if not args.skip_confirm:
        print("download specification:\n  " + "\n  ".join(overrides[1:]))
        try:
            answer = input("confirm (y/N): ").strip().lower()
        except EOFError:
            answer = ""
        if answer not in ("y", "yes"):
            from geetiles.errors import RunFailed

            raise RunFailed("aborted: not confirmed (pass --skip_confirm to run without asking)")
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

    random = commands.add_parser("random", help="cut an AOI into random rectangles (the original's partitions, seeded)")
    random.add_argument("--aoi_wkt_file", required=True, help="file with the AOI as lon/lat WKT")
    random.add_argument("--max_rectangle_size_meters", required=True, type=positive_number,
                        help="longest side of a piece's UTM bounding box, in metres")
    random.add_argument("--aoi_name", required=True, help="AOI name used in the file name (no '_')")
    random.add_argument("--dest_dir", required=True, help="folder for the tiles file (created if missing)")
    random.add_argument("--seed", type=seed_number, default=0, help="random seed: the same seed gives the same file (default 0)")
    random.set_defaults(handler=cmd_random)

    select = commands.add_parser("select", help="take the units (communes, districts) of a vector file that overlap an AOI")
    select.add_argument("--orig_shapefile", required=True,
                        help="vector file GDAL reads, any CRS (GeoPackage, GeoJSON, Shapefile or .zip of one, FlatGeobuf, GeoParquet)")
    select.add_argument("--aoi_wkt_file", required=True, help="file with the AOI as lon/lat WKT")
    select.add_argument("--tiles_name", required=True, help="units' name used in the file name, e.g. communes (no '_')")
    select.add_argument("--aoi_name", required=True, help="AOI name used in the file name (no '_')")
    select.add_argument("--dest_dir", required=True, help="folder for the tiles file (created if missing)")
    select.add_argument("--min_overlap_km2", type=finite_number, default=0.001,
                        help="drop units overlapping the AOI less than this, in km² (default 0.001)")
    select.add_argument("--clip", action="store_true", help="clip the units to the AOI (the original never clipped)")
    select.set_defaults(handler=cmd_select)

    intersect = commands.add_parser("intersect", help="give every chip the id of the foreign unit it overlaps most")
    intersect.add_argument("--tiles_file", required=True, help="the chips' tiles file (gets a foreignid_{name} column)")
    intersect.add_argument("--foreign_tiles_file", required=True,
                           help="the units' tiles file, {aoi}_partitions_{name}_{hash}.geojson")
    intersect.set_defaults(handler=cmd_intersect)

    split = commands.add_parser("split", help="split the chips into train/val/test by angled bands (geetiles 0.1.7's split)")
    split.add_argument("--tiles_file", required=True, help="the chips' tiles file (gets a split column, and *_splits.csv)")
    split.add_argument("--nbands", required=True, type=int, help="number of bands")
    split.add_argument("--angle", required=True, type=finite_number, help="band angle in radians, in [-pi/2, pi/2]")
    split.add_argument("--train_pct", required=True, type=finite_number, help="share of train, e.g. .5")
    split.add_argument("--test_pct", required=True, type=finite_number, help="share of test, e.g. .3")
    split.add_argument("--val_pct", required=True, type=finite_number, help="share of val, e.g. .2")
    split.add_argument("--foreign_tiles_name", help="also split_{name}: the majority split of each foreignid_{name} unit")
    split.set_defaults(handler=cmd_split)

    lp_compute = commands.add_parser("lp.compute", help="label proportions of every chip from its downloaded label chip")
    lp_compute.add_argument("--tiles_file", required=True, help="the chips' tiles file (gets {dataset}_proportions)")
    which_labels = lp_compute.add_mutually_exclusive_group()
    which_labels.add_argument("--labels_dataset_def", help="the labels dataset, e.g. esa-world-cover (its chips are downloaded)")
    which_labels.add_argument("--dataset_name", help="the same (the name geetiles 0.1.7's README shows)")
    lp_compute.set_defaults(handler=cmd_lp_compute)

    lp_foreign = commands.add_parser("lp.from_foreign",
                                     help="mix the label proportions of the foreign units each chip overlaps")
    lp_foreign.add_argument("--tiles_file", required=True, help="the chips' tiles file (gets {dataset}_proportions_at_{name})")
    lp_foreign.add_argument("--foreign_tiles_file", required=True,
                            help="the units' tiles file, with {dataset}_proportions (from lp.compute)")
    lp_foreign.add_argument("--labels_dataset_def", required=True, help="the labels dataset, e.g. esa-world-cover")
    lp_foreign.set_defaults(handler=cmd_lp_from_foreign)

    zip_dataset = commands.add_parser("zip.dataset", help="pack the chips as geetiles 0.1.7's zip of one pickle per chip")
    zip_dataset.add_argument("--tiles_file", required=True,
                             help="the chips' tiles file; the zip and its folder go beside it, {aoi}_{images}[_{labels}]")
    zip_dataset.add_argument("--images_dataset_def", required=True,
                             help="the images dataset (its chip folder's name), e.g. sentinel2-rgb-median-2020")
    zip_dataset.add_argument("--labels_dataset_def", help="the labels dataset, e.g. esa-world-cover (optional)")
    zip_dataset.add_argument("--foreign_tiles_file", help="the foreign units' tiles file: copied, and its ids and "
                             "proportions go into label_proportions")
    zip_dataset.add_argument("--readme_file", help="a file copied into the zip as README.txt")
    zip_dataset.add_argument("--skip_missing", action="store_true",
                             help="leave out chips whose image (or label) is missing or corrupt, as 0.1.7 did silently; "
                                  "they are listed and the exit status is 1 (default: refuse, nothing written)")
    zip_dataset.set_defaults(handler=cmd_zip_dataset)

    download = commands.add_parser("download", help="download every chip of a tiles file from Earth Engine")
    download.add_argument("--tiles_file", required=True, help="tiles file written by grid (or python -m geetiles)")
    which_def = download.add_mutually_exclusive_group()
    which_def.add_argument("--dataset_def", help="built-in dataset name or a Python file defining get_ee_image()")
    which_def.add_argument("--gee_image_pycode", help="older name of --dataset_def")
    download.add_argument("--dataset_name", help="folder name for the chips (default: the dataset's name)")
    download.add_argument("--pixels_lonlat", type=pixel_pair, help="chip size in pixels, e.g. [100,100]")
    download.add_argument("--meters_per_pixel", type=positive_number, help="pixel size in metres (instead of --pixels_lonlat)")
    download.add_argument("--skip_if_exists", action="store_true", help="skip chips whose file exists and is valid")
    download.add_argument("--skip_confirm", action="store_true", help="do not ask for confirmation")
    download.add_argument("--n_processes", type=int, help="requests in flight at once (default 40)")
    download.add_argument("--max_requests_per_s", type=positive_number, help="request-rate cap (default 100)")
    download.add_argument("--project", help="Earth Engine (Cloud) project")
    download.add_argument("--ee_auth_mode", help="auto (default), persistent, appdefault or none")
    download.add_argument("--ee_credentials", help="credentials mode or path of a service-account key JSON")
    download.add_argument("--ee_url", help="Earth Engine endpoint (default: the high-volume endpoint)")
    download.add_argument("--ray_address", help="Ray cluster to join: auto or ray://host:port (default: a local Ray)")
    download.add_argument("--max_downloads", type=int, help="download at most this many chips")
    download.add_argument("--shuffle", action="store_true", help="download in a (seeded) random order")
    download.add_argument("--groups", help="only chips whose 'group' column is one of these (comma-separated)")
    download.add_argument("--aoi", help="only chips intersecting this bundled country or continent")
    download.set_defaults(handler=cmd_download)

    aois = commands.add_parser("aois", help="list the bundled countries, or extract one as a WKT file")
    which = aois.add_mutually_exclusive_group(required=True)
    which.add_argument("--showall", action="store_true", help="list every country name and ISO code")
    which.add_argument("--extract", metavar="NAME", help="country name, ISO alpha-3 code or continent")
    aois.add_argument("--dest_dir", default=".", help="folder for NAME.wkt (default: current folder)")
    aois.add_argument("--aoi_name", default=None, help="name of the written file (default: from NAME)")
    aois.set_defaults(handler=cmd_aois)

    from geetiles.cli.geet_tools import add_tool_commands

    add_tool_commands(commands)  # mosaic, mosaic.fromvals, cleanup
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
