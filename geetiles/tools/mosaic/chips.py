"""The chips of a mosaic: the files of a chip folder and their headers (read by ``geetiles.tiff``), and
what the mosaic takes from them (its nodata, its band names)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.tiff import TiffHeader, UnreadableChip, read_header
from geetiles.tools.mosaic.options import GDAL_ENV, GDAL_TYPES


def chip_paths(basedir: Path, exclude: Sequence[Path] = ()) -> list[Path]:
    """The folder's ``*.tif`` files in name order, without hidden files (a running download's
    temporaries) and without ``exclude`` (the mosaic itself, when it is written into the folder)."""
    folder = basedir.resolve()
    excluded = {p.name for p in exclude if p.resolve().parent == folder}
    return sorted(
        p for p in basedir.glob("*.tif") if not p.name.startswith(".") and p.name not in excluded and p.is_file()
    )


def read_headers(paths: Sequence[Path], basedir: Path) -> list[TiffHeader]:
    """Every chip's header; one line pointing at ``geet cleanup`` when some cannot be read (or are not
    north-up grids of a GDAL data type)."""
    import rasterio

    headers, broken = [], []
    with rasterio.Env(**GDAL_ENV):
        for path in paths:
            try:
                headers.append(_mosaicable(read_header(path)))
            except UnreadableChip as error:
                broken.append((path, str(error)))
    if broken:
        path, reason = broken[0]
        raise UserInputError(
            f"{len(broken)} of {len(paths)} chips in {basedir} cannot be read (first: {path.name}: "
            f"{reason}); run `geet cleanup --basedir {basedir}` to remove unreadable chips"
        )
    return headers


def _mosaicable(header: TiffHeader) -> TiffHeader:
    _, dx, row_rotation, _, column_rotation, dy = header.transform
    if row_rotation != 0 or column_rotation != 0 or dx <= 0 or dy >= 0:
        raise UnreadableChip("not a north-up grid (rotated or flipped)")
    if header.dtype not in GDAL_TYPES:
        raise UnreadableChip(f"unsupported data type {header.dtype}")
    return header


def output_nodata(headers: Sequence[TiffHeader], dtype: str) -> float:
    """The chips' common nodata value if they all have the same one (and it fits), else 0 for integer
    types and NaN for floats."""
    with_nodata = [h.nodata for h in headers if h.nodata is not None]
    distinct = {"nan" if math.isnan(v) else v for v in with_nodata}
    fallback = float("nan") if np.dtype(dtype).kind == "f" else 0.0
    if len(with_nodata) != len(headers) or len(distinct) != 1:
        return fallback
    value = float(with_nodata[0])
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        if math.isnan(value) or not (value.is_integer() and info.min <= value <= info.max):
            return fallback
    return value


def band_names(first: TiffHeader, channels: Sequence[int]) -> list[str | None]:
    """The first chip's band descriptions for the chosen bands."""
    return [first.descriptions[c] if c < len(first.descriptions) else None for c in channels]


def crs_name(crs: str) -> str:
    return crs if crs.startswith("EPSG:") else "a custom CRS"
