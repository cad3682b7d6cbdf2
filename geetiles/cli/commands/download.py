"""``geet download``: every chip of a tiles file from Earth Engine, with the original's options
(``--dataset_def`` or ``--gee_image_pycode``, ``--pixels_lonlat`` or ``--meters_per_pixel``, ...)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.compose import quote
from geetiles.cli.options import positive_number, run_overrides
from geetiles.errors import UserInputError

INTERACTIVE_AUTH_MODES = ("notebook", "localhost", "gcloud", "gcloud-legacy", "colab")


def add_parser(commands) -> None:
    download = commands.add_parser("download", help="download every chip of a tiles file from Earth Engine")
    download.add_argument("--tiles_file", required=True, help="tiles file written by grid (or python -m geetiles)")
    which_def = download.add_mutually_exclusive_group()
    which_def.add_argument("--dataset_def", help="built-in dataset name or a Python file defining get_ee_image()")
    which_def.add_argument("--gee_image_pycode", help="older name of --dataset_def")
    download.add_argument("--dataset_name", help="folder name for the chips (default: the dataset's name)")
    download.add_argument("--pixels_lonlat", type=pixel_pair, help="chip size in pixels, e.g. [100,100]")
    download.add_argument(
        "--meters_per_pixel", type=positive_number, help="pixel size in metres (instead of --pixels_lonlat)"
    )
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
    download.set_defaults(handler=run)


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
        raise UserInputError(
            f"--ee_auth_mode {mode} is interactive; run `earthengine authenticate --auth_mode={mode}` "
            "once, then rerun with --ee_auth_mode persistent"
        )
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
        "stages=[download]",
        "source=custom",
        "labels=none",
        f"source.dataset={quote(dataset)}",
        f"download.tiles_file={quote(args.tiles_file)}",
        f"download.skip_if_exists={args.skip_if_exists}",
        f"download.shuffle={args.shuffle}",
        f"ee.credentials={quote(credentials_mode(args))}",
    ]
    optional = {
        "source.name": args.dataset_name and quote(args.dataset_name),
        "source.pixels_lonlat": args.pixels_lonlat and f"[{args.pixels_lonlat[0]},{args.pixels_lonlat[1]}]",
        "source.meters_per_pixel": args.meters_per_pixel,
        "download.max_in_flight": args.n_processes,
        "download.max_requests_per_s": args.max_requests_per_s,
        "download.max_downloads": args.max_downloads,
        "download.groups": args.groups and "[" + ",".join(quote(g) for g in args.groups.split(",") if g) + "]",
        "download.aoi": args.aoi and quote(args.aoi),
        "ee.project": args.project and quote(args.project),
        "ee.url": args.ee_url and quote(args.ee_url),
        "ray.address": args.ray_address and quote(args.ray_address),
    }
    overrides += [f"{key}={value}" for key, value in optional.items() if value is not None]
    return overrides


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
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
