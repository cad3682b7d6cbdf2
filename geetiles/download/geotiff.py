"""The download's chip files: encoded with the request that made them, written atomically, checksummed,
and checked on resume against the grid and request they must have.

Encoding to bytes (not to a path) lets a worker either write the file itself or send the bytes
to the driver; either way the file appears atomically (temporary name, then rename). The encoding is
``geetiles.tiff.writer``'s; what makes a file *this request's chip* (its grid, its request tag, its
checksum in the manifest) is the download's, and is judged here, with ``geetiles.tiff`` reading the
file, only for files the manifest cannot vouch for.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.atomic import atomic_path
from geetiles.tiff.writer import Colormap

REQUEST_TAG = "geetiles_request"  # dataset-level metadata item: the request fingerprint that made the chip


def encode(
    array: np.ndarray,
    crs: str,
    transform: tuple,
    band_names: list[str],
    nodata: float | None,
    request: str = "",
    colormap: Colormap | None = None,
) -> bytes:
    """Chip bytes for a (bands, height, width) array on the given grid (``transform`` in affine
    order), tagged with ``request``; label chips carry their classes' ``colormap``.

    Written as the export's Cloud-Optimised GeoTIFF (``geetiles.tiff.cog``) wherever that encoder can
    express the chip (one tile of at most 512 pixels a side, an EPSG CRS), so the export finds the
    chip already in its own form and links the file instead of decoding and re-encoding it (see
    ``export/geotiff.py``); a larger chip as a tiled GeoTIFF (``geetiles.tiff.writer``)."""
    from geetiles.tiff.cog import encode_cog
    from geetiles.tiff.writer import encode_geotiff

    metadata = {REQUEST_TAG: request} if request else None
    a, b, c, d, e, f = transform  # affine order; the COG encoder takes GDAL's
    data = encode_cog(array, crs, (c, a, b, f, d, e), band_names, nodata, colormap, metadata)
    if data is not None:
        return data
    return encode_geotiff(array, crs, transform, band_names, nodata, metadata)


def checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@dataclass(frozen=True)
class Expected:
    """What a valid chip file looks like, for resuming without re-requesting it."""

    width: int
    height: int
    count: int
    dtype: str
    crs: str
    transform: tuple
    request: str = ""  # the current request's fingerprint; a file tagged with another one is "changed"


def is_valid(path: Path, expected: Expected) -> bool:
    """True if ``path`` opens as a GeoTIFF with exactly the expected shape, dtype, CRS and transform
    (and, when it carries one, the expected request fingerprint)."""
    return inspect(path, expected) == "valid"


def inspect(path: Path, expected: Expected) -> str:
    """``valid``; ``changed`` (a good file made by another request: its tag differs); ``invalid``."""
    return examine(path, expected).state


@dataclass(frozen=True)
class Examined:
    """What resuming learns from a chip file it could not trust from the manifest alone."""

    state: str  # valid | changed (made by another request) | invalid
    request: str = ""  # the request fingerprint the file is tagged with ('' for 0.1.7's or copied-in files)
    checksum: str = ""  # of the bytes read, when valid: the same blake2b the worker records
    stat: os.stat_result | None = None  # of the bytes read (size and mtime the manifest trusts it by)


def examine(path: Path, expected: Expected) -> Examined:
    """Read ``path`` once, check it against ``expected`` and, when valid, checksum those same bytes, so
    an adopted chip is recorded as a downloaded one is (the export verifies chips by this checksum)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
            stat = os.fstat(file.fileno())
    except OSError:
        return Examined("invalid")
    request = _grid_and_tag(data, expected)
    if request is None:
        return Examined("invalid", stat=stat)
    if expected.request and request not in ("", expected.request):
        return Examined("changed", request, stat=stat)
    return Examined("valid", request, checksum(data), stat)


def file_request(path: Path) -> str:
    """The request fingerprint a chip file was tagged with ('' for files of 0.1.7 or copied in)."""
    from geetiles.tiff import UnreadableChip, read_header

    try:
        return read_header(path).metadata.get(REQUEST_TAG, "")
    except UnreadableChip:
        return ""


def _grid_and_tag(data: bytes, expected: Expected) -> str | None:
    """The file's request tag ('' when untagged) if ``data`` is a GeoTIFF on exactly the expected grid
    whose pixels decode (a file cut short fails); None otherwise."""
    from geetiles.tiff import UnreadableChip
    from geetiles.tiff.reader import verified_header

    try:
        header = verified_header(data)
    except UnreadableChip:  # not a GeoTIFF, cut short, any decoding error: "not valid"
        return None
    if (header.width, header.height, header.count) != (expected.width, expected.height, expected.count):
        return None
    if header.dtype != expected.dtype or not _same_crs(header.crs, expected.crs):
        return None
    a, b, c, d, e, f = expected.transform  # affine order; the header's is GDAL's
    if not np.allclose(header.transform, (c, a, b, f, d, e), rtol=0, atol=1e-12):
        return None
    return header.metadata.get(REQUEST_TAG, "")


def _same_crs(found: str, expected: str) -> bool:
    if found == expected:
        return True
    from rasterio.crs import CRS

    try:
        return CRS.from_user_input(found) == CRS.from_user_input(expected)
    except Exception:  # a CRS rasterio cannot parse is not the expected one
        return False
