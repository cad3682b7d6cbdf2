"""Download settings that cannot work, refused before any stage runs (no tiling, no Ray), in one
line each: a user waits milliseconds, not the seconds Ray takes to start, to learn of a typo."""

from __future__ import annotations

from pathlib import Path

from geetiles.errors import UserInputError
from geetiles.numbers import require_finite

MAX_SIDE = 32768  # Earth Engine's largest grid side; a bigger chip is better cut by a finer tiling

_POSITIVE = {
    "download.max_in_flight": "at least 1 request in flight (Earth Engine's default quota is 40)",
    "download.max_requests_per_s": "a rate above 0 (Earth Engine's default quota is 100 per second)",
    "download.batch_size": "at least 1 chip per batch (64 is the default)",
    "download.max_attempts": "at least 1 attempt per request (10 is the default)",
    "download.request_timeout_s": "a timeout above 0 s (300 is the default)",
    "download.stall_timeout_s": "a timeout above 0 s (600 is the default)",
    "download.max_request_bytes": "a byte limit above 0 (Earth Engine's is 50331648)",
    "download.max_pixels_per_side": "a side above 0 (Earth Engine's is 32768)",
    "ray.start_timeout_s": "a timeout above 0 s (60 is the default)",
}


def check_download_settings(config) -> None:
    for key, need in _POSITIVE.items():
        group, name = key.split(".")
        value = require_finite(key, getattr(getattr(config, group), name))
        if value is None or not value > 0:
            raise UserInputError(f"{key}={value} cannot work; it needs {need}")
    if config.download.actors is not None and config.download.actors < 1:
        raise UserInputError(
            f"download.actors={config.download.actors} cannot work; give at least 1 worker or leave it unset"
        )
    if config.download.max_downloads is not None and config.download.max_downloads < 0:
        raise UserInputError(
            f"download.max_downloads={config.download.max_downloads} cannot be negative; leave it unset for all chips"
        )
    from geetiles.download.blocks import coalesce_side

    coalesce_side(config.download.coalesce)  # one line for anything but auto, off or a side in pixels
    for role in ("source", "labels"):
        source = getattr(config, role)
        if source.dataset is not None or source.recipe is not None:
            check_pixel_grid(role, source.pixels_lonlat, source.meters_per_pixel)


def check_pixel_grid(role: str, pixels_lonlat, meters_per_pixel) -> None:
    if (pixels_lonlat is None) == (meters_per_pixel is None):
        raise UserInputError(
            f"set exactly one of {role}.pixels_lonlat=[W,H] or {role}.meters_per_pixel=M "
            f"(to change one, null the other: {role}.pixels_lonlat=null)"
        )
    if pixels_lonlat is not None:
        sides = list(pixels_lonlat)
        if len(sides) != 2 or not all(isinstance(v, int) and 1 <= v <= MAX_SIDE for v in sides):
            raise UserInputError(
                f"{role}.pixels_lonlat={sides} must be two whole numbers of pixels [width, height], "
                f"each 1 to {MAX_SIDE}"
            )
    elif not meters_per_pixel > 0:
        raise UserInputError(f"{role}.meters_per_pixel={meters_per_pixel} must be a positive number of metres")


def check_tiles_file(value: str | None) -> Path | None:
    """A tiles file given for a download run alone must exist, be readable and hold chips."""
    if not value:
        return None
    from geetiles.layout import geojson_path, twin_path

    path = geojson_path(Path(value).expanduser().resolve())
    twin = twin_path(path)
    if not path.exists() and not twin.exists():
        raise UserInputError(
            f"download.tiles_file={value!r} does not exist; give a tiles file written by the tiling stage or geet grid"
        )
    try:
        if twin.exists():
            import pyarrow.parquet as pq

            count = pq.ParquetFile(twin).metadata.num_rows
        else:
            import pyogrio

            count = pyogrio.read_info(path)["features"]
    except Exception as error:
        raise UserInputError(
            f"cannot read download.tiles_file={value!r} ({' '.join(str(error).split())[:150]}); is it a tiles file?"
        ) from None
    if count == 0:
        raise UserInputError(
            f"download.tiles_file={value!r} holds no chips; tile an area first (the tiling stage or geet grid)"
        )
    return path
