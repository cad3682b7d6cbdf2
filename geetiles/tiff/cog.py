"""The export's Cloud-Optimised GeoTIFFs, written directly (the download's GeoTIFFs are in ``writer``).

One tile of at most 512 pixels a side, no overviews, pixel-interleaved (GDAL's COG default), in the
layout GDAL's COG driver uses: the 8-byte header, GDAL's "ghost" structural-metadata area, the IFD and
its values, then the tile with its size before it and its last 4 bytes repeated after it; GDAL reports
``LAYOUT=COG`` for it. Deflate level 1, zlib's fastest. No predictor: undoing it is a cumulative sum per
row on every read, and training reads each chip many times. ``bench/tiff.py`` measures it against GDAL's
COG driver; anything it cannot express goes to GDAL (:func:`_write_with_gdal`).
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from geetiles.atomic import atomic_path, writing
from geetiles.tiff.header import (
    ASCII,
    COLORMAP,
    GDAL_NODATA,
    LONG,
    PHOTOMETRIC,
    PLANAR,
    PREDICTOR,
    SHORT,
    TIEPOINT,
    TILE_COUNTS,
    TILE_OFFSETS,
)
from geetiles.tiff.tags import (
    CHUNKY,
    HORIZONTAL,
    PALETTE,
    SAMPLE_FORMATS,
    colormap_key,
    colormap_table,
    directory,
    directory_and_positions,
    directory_size,
    epsg_key,
    geotiff_tags,
    nodata_text,
)
from geetiles.tiff.writer import LEVEL, Colormap

MAX_COG_BLOCK = 512  # larger chips need overviews to be a COG: GDAL writes those
COLORMAP_DTYPES = ("uint8", "uint16")
USE_PREDICTOR = False  # see the module's doc


def _ghost_area() -> bytes:
    """GDAL's structural metadata, as its COG driver writes it after the header (padded to a word)."""
    body = (
        "LAYOUT=IFDS_BEFORE_DATA\n"
        "BLOCK_ORDER=ROW_MAJOR\n"
        "BLOCK_LEADER=SIZE_AS_UINT4\n"
        "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\n"
        "KNOWN_INCOMPATIBLE_EDITION=NO\n "
    )  # GDAL ends it with a space
    text = f"GDAL_STRUCTURAL_METADATA_SIZE={len(body):06d} bytes\n{body}".encode("ascii")
    return text + b"\0" * ((8 + len(text)) % 2)


GHOST_AREA = _ghost_area()
IFD_OFFSET = 8 + len(GHOST_AREA)


def encode_cog(
    array: np.ndarray,
    crs: str,
    transform: Sequence[float],
    band_names: Sequence[str],
    nodata: float | None,
    colormap: Colormap | None = None,
    metadata: Mapping[str, str] | None = None,
) -> bytes | None:
    """COG bytes of a (bands, height, width) array, or None when this encoder cannot express it.

    ``transform`` is in GDAL order (x0, dx, row rotation, y0, column rotation, dy); ``band_names``
    become the band descriptions; ``colormap`` ({value: (r, g, b[, a])}, one-band uint8/uint16 only)
    becomes a palette (TIFF stores no alpha: GDAL reads 255, or 0 for the nodata entry).

    The chips of one dataset differ only in their pixels and their tie point: the header and IFD of a
    north-up chip are built once per kind of chip (:func:`_cog_prefix`) and only the tie point and the
    tile's size are written into a copy, which halves the cost of a small chip and gives the same bytes.
    """
    _check(array, band_names, colormap)
    epsg = epsg_key(crs) if isinstance(crs, str) else None
    block = _cog_block(array)
    if epsg is None or block is None:
        return None
    predictor = USE_PREDICTOR and array.dtype.kind in "iu"
    tile = zlib.compress(_cog_tile(array, block, predictor), LEVEL)
    x0, dx, rx, y0, ry, dy = (float(v) for v in transform)
    if rx == 0 and ry == 0:  # a tie point and a pixel scale: the IFD is the same for every chip of the kind
        count, height, width = array.shape
        prefix, tie_at, size_at = _cog_prefix(
            array.dtype.str,
            count,
            width,
            height,
            block,
            epsg,
            struct.pack("<dd", dx, dy),
            tuple(band_names),
            None if nodata is None else nodata_text(nodata),
            None if colormap is None else colormap_key(colormap),
            predictor,
            tuple((metadata or {}).items()),
        )
        head = bytearray(prefix)
        struct.pack_into("<dd", head, tie_at, x0, y0)
        struct.pack_into("<I", head, size_at, len(tile))
        return b"".join([head, struct.pack("<I", len(tile)), tile, tile[-4:]])
    tags = _cog_tags(
        array.dtype,
        *array.shape,
        block,
        epsg,
        (dx, rx, x0, ry, dy, y0),
        list(band_names),
        nodata,
        None if colormap is None else colormap_key(colormap),
        predictor,
        dict(metadata or {}),
        len(tile),
    )
    return b"".join(
        [
            b"II*\0" + struct.pack("<I", IFD_OFFSET),
            GHOST_AREA,
            directory(tags, IFD_OFFSET),
            struct.pack("<I", len(tile)),
            tile,
            tile[-4:],
        ]
    )


def _cog_tags(
    dtype: np.dtype,
    count: int,
    height: int,
    width: int,
    block: int,
    epsg: tuple[int, bool],
    transform: Sequence[float],
    band_names: list[str],
    nodata: float | None,
    colors: tuple | None,
    predictor: bool,
    metadata: dict[str, str],
    tile_size: int,
) -> dict[int, tuple]:
    """The COG's tags (``transform`` in affine order), its one tile of ``tile_size`` bytes after the IFD,
    the IFD's values and the tile's 4-byte leader."""
    tags = geotiff_tags(dtype, count, width, height, block, epsg, transform, band_names, nodata, metadata)
    tags[PLANAR] = (SHORT, [CHUNKY])
    if predictor:
        tags[PREDICTOR] = (SHORT, [HORIZONTAL])
    if colors is not None:
        tags[PHOTOMETRIC] = (SHORT, [PALETTE])
        tags[COLORMAP] = (SHORT, colormap_table(colors, dtype.itemsize * 8))
    tags[TILE_COUNTS] = (LONG, [tile_size])
    tags[TILE_OFFSETS] = (LONG, [0])  # a placeholder: the IFD's size depends on the count alone
    tags[TILE_OFFSETS] = (LONG, [IFD_OFFSET + directory_size(tags) + 4])  # after the IFD, its values, the leader
    return tags


@lru_cache(maxsize=64)
def _cog_prefix(
    dtype: str,
    count: int,
    width: int,
    height: int,
    block: int,
    epsg: tuple[int, bool],
    scale: bytes,
    band_names: tuple[str, ...],
    nodata: str | None,
    colors: tuple | None,
    predictor: bool,
    metadata: tuple[tuple[str, str], ...],
) -> tuple[bytes, int, int]:
    """The header, ghost area and IFD (with its values) of a north-up COG of this kind, with a zero tie
    point and tile size; and where the tie point's x (then y) and the tile size lie in those bytes.
    ``nodata`` is the tag's text, so values written alike (0 and 0.0) share one prefix."""
    dx, dy = struct.unpack("<dd", scale)
    tags = _cog_tags(
        np.dtype(dtype),
        count,
        height,
        width,
        block,
        epsg,
        (dx, 0.0, 0.0, 0.0, dy, 0.0),
        list(band_names),
        None if nodata is None else float(nodata),
        colors,
        predictor,
        dict(metadata),
        0,
    )
    if nodata is not None:
        tags[GDAL_NODATA] = (ASCII, nodata)  # the text itself: float() may not round-trip a large integer
    ifd, positions = directory_and_positions(tags, IFD_OFFSET)
    prefix = b"II*\0" + struct.pack("<I", IFD_OFFSET) + GHOST_AREA + ifd
    tie_point_xy = IFD_OFFSET + positions[TIEPOINT] + 3 * 8  # the tie point is (0, 0, 0, x, y, 0)
    return prefix, tie_point_xy, IFD_OFFSET + positions[TILE_COUNTS]


def write_cog(
    path: str | os.PathLike[str],
    array: np.ndarray,
    crs: str,
    transform: Sequence[float],
    band_names: Sequence[str],
    nodata: float | None,
    colormap: Colormap | None = None,
    metadata: Mapping[str, str] | None = None,
    atomic: bool = True,
) -> str:
    """Write ``array`` as a COG at ``path`` atomically; the SHA-256 hex digest of the file's bytes.

    Uses :func:`encode_cog`, or GDAL's COG driver (Deflate, overviews as GDAL decides) when that
    returns None. ``atomic=False`` writes the file in place, for a writer that fills a folder no reader
    sees until it is complete (the export's, swapped in whole): a rename per file is a third of the
    cost of a small chip.
    """
    data = encode_cog(array, crs, transform, band_names, nodata, colormap, metadata)
    if data is not None and not atomic:
        write_in_place(path, data)
        return hashlib.sha256(data).hexdigest()
    with atomic_path(path) as tmp:
        if data is None:
            _write_with_gdal(tmp, array, crs, transform, band_names, nodata, colormap, metadata)
            data = tmp.read_bytes()
        else:
            _write_file(tmp, data)
    return hashlib.sha256(data).hexdigest()


def write_in_place(path: str | os.PathLike[str], data: bytes) -> None:
    """Write encoded bytes at ``path`` without a temporary name (see :func:`write_cog`'s ``atomic``); a
    full disk raises ``DiskFull``."""
    with writing(path, space_of=os.path.dirname(path)):
        _write_file(path, data)


def _write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Unbuffered: one system call less per file than ``open(path, "wb")``, which counts for small chips."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


def _write_with_gdal(
    path: Path,
    array: np.ndarray,
    crs: str,
    transform: Sequence[float],
    band_names: Sequence[str],
    nodata: float | None,
    colormap: Colormap | None,
    metadata: Mapping[str, str] | None,
) -> None:
    """The general path: GDAL's COG driver, for anything :func:`encode_cog` cannot express."""
    import rasterio
    from affine import Affine

    count, height, width = array.shape
    profile = dict(
        driver="COG",
        width=width,
        height=height,
        count=count,
        dtype=array.dtype,
        crs=crs,
        transform=Affine.from_gdal(*transform),
        nodata=nodata,
        compress="deflate",
        level=LEVEL,
    )
    if USE_PREDICTOR and array.dtype.kind in "iu":
        profile["predictor"] = "STANDARD"  # the COG driver's name for the horizontal predictor
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(array)
        if band_names:
            dataset.descriptions = tuple(band_names)
        if metadata:
            dataset.update_tags(**metadata)
        if colormap is not None:
            dataset.write_colormap(1, {int(v): tuple(int(c) for c in color) for v, color in colormap.items()})


def _cog_block(array: np.ndarray) -> int | None:
    """The side of the one square tile holding the chip (a multiple of 16), or None if unsupported."""
    dtype = array.dtype
    if dtype.kind not in SAMPLE_FORMATS or dtype.byteorder == ">" or (dtype.kind == "f" and dtype.itemsize < 4):
        return None
    side = -(-max(array.shape[1:]) // 16) * 16
    return side if side <= MAX_COG_BLOCK else None


def _cog_tile(array: np.ndarray, block: int, predictor: bool) -> bytes:
    """The chip as one pixel-interleaved block x block tile, zero-padded, horizontally differenced."""
    count, height, width = array.shape
    tile = np.zeros((block, block, count), dtype=array.dtype)
    tile[:height, :width] = array.transpose(1, 2, 0)
    if predictor:  # each sample minus the same sample of the pixel to its left (wrapping, as TIFF does)
        tile[:, 1:] = np.diff(tile, axis=1)
    return tile.tobytes()


def _check(array: np.ndarray, band_names: Sequence[str], colormap: Colormap | None) -> None:
    """Raise ValueError for inputs no writer can honour (rather than write a wrong file)."""
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"expected a non-empty (bands, height, width) array, got shape {array.shape}")
    if band_names and len(band_names) != array.shape[0]:
        raise ValueError(f"{len(band_names)} band names for {array.shape[0]} bands")
    kind = array.dtype  # COLORMAP_DTYPES by kind and size: ``.name`` costs microseconds a call
    if colormap is not None and (array.shape[0] != 1 or kind.kind != "u" or kind.itemsize not in (1, 2)):
        raise ValueError(f"a colormap needs one uint8 or uint16 band, not {array.shape[0]} {array.dtype} bands")
