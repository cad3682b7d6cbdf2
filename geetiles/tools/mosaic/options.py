"""The options of ``geet mosaic`` and ``mosaic.fromvals``: what the user gives (bands, pixel size), and
what both write (a COG of 512-pixel tiles) and how they have GDAL read the chips."""

from __future__ import annotations

import math

from geetiles.errors import UserInputError

GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "uint64": "UInt64",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
}
BLOCK = 512  # the mosaic's tile size (the COG driver's default)
MAX_PIXELS = 20_000_000_000  # per band: beyond this, --meters_per_pixel is almost surely a mistake
COG_OPTIONS = dict(
    COMPRESS="DEFLATE",
    LEVEL=6,
    PREDICTOR="YES",
    BLOCKSIZE=BLOCK,
    BIGTIFF="IF_SAFER",
    NUM_THREADS="ALL_CPUS",
    RESAMPLING="NEAREST",
    OVERVIEW_RESAMPLING="NEAREST",
)
# GDAL would list the chip folder on every chip it opens (looking for .aux.xml/.ovr siblings):
# quadratic in the number of chips. Chips have no sidecar files.
GDAL_ENV = dict(
    GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",
    GDAL_MAX_DATASET_POOL_SIZE=450,
    GDAL_CACHEMAX=512,
    GDAL_NUM_THREADS="ALL_CPUS",
)


def parse_channels(text: str | None) -> list[int] | None:
    """``0,1,2``, ``[0,1,2]``, ``(0, 1)`` or ``0 1 2``: 0-based band indices (the original's
    ``--channels``), without eval. None (no ``--channels``): every band."""
    if text is None:
        return None
    body = text.strip()
    if body[:1] in "[(" and body[-1:] in "])":
        body = body[1:-1]
    parts = [p for p in body.replace(",", " ").split() if p]
    if not parts:
        raise UserInputError(
            f"--channels {text!r} names no band; give 0-based band numbers such as 0,1,2 "
            "or leave --channels out for every band"
        )
    values = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise UserInputError(
                f"--channels {text!r}: {part!r} is not a band number; give 0-based band numbers "
                "such as 0,1,2 or [0,1,2]"
            ) from None
        if value < 0:
            raise UserInputError(f"--channels {text!r}: band numbers start at 0 (got {value})")
        values.append(value)
    return values


def check_meters_per_pixel(value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise UserInputError(f"--meters_per_pixel {value!r} must be a positive number of metres")
    return float(value)


def number_text(value: float) -> str:
    """A value as GDAL's XML and the summaries write it: ``nan``, an integer, or Python's repr."""
    return "nan" if math.isnan(value) else repr(float(value)) if not float(value).is_integer() else str(int(value))
