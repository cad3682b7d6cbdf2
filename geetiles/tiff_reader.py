"""A reader for the plain GeoTIFFs chips are stored in, ten times cheaper per file than tifffile.

A dataset has up to millions of small chips, and stages that read every chip (proportions, export,
the loader) are bound by the cost of opening one: GDAL ~2 ms, tifffile ~0.45 ms (it models every
TIFF feature), this ~0.05 ms. It reads one layout family only: classic little- or big-endian TIFF,
strips or tiles, uncompressed or Deflate, horizontal predictor or none, chunky or planar samples, a
north-up pixel scale and tie point. Anything else returns None and the caller falls back to
tifffile or GDAL, which read everything.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

_TYPES = {1: "B", 2: "s", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i", 10: "ii", 11: "f", 12: "d", 16: "Q"}
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}
_SAMPLE_KINDS = {1: "u", 2: "i", 3: "f"}
(WIDTH, HEIGHT, BITS, COMPRESSION, STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_COUNTS, PLANAR, PREDICTOR,
 TILE_WIDTH, TILE_HEIGHT, TILE_OFFSETS, TILE_COUNTS, SAMPLE_FORMAT, PIXEL_SCALE, TIEPOINT, TRANSFORMATION,
 GEOKEYS, GDAL_NODATA) = (256, 257, 258, 259, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 339, 33550, 33922,
                          34264, 34735, 42113)


@dataclass(frozen=True)
class PlainTiff:
    band: np.ndarray  # the first band, (height, width); with all_bands, every band: (bands, height, width)
    bands: int
    pixel_scale: tuple[float, ...]
    tiepoint: tuple[float, ...]
    geokeys: tuple[int, ...]
    nodata: str | None


def read_plain_tiff(data: bytes, all_bands: bool = False) -> PlainTiff | None:
    """The first band (or, with ``all_bands``, every band) of a TIFF held in ``data``, or None when
    its layout is not the plain one."""
    if data[:4] == b"II*\x00":
        order = "<"
    elif data[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    tags = _tags(data, order, struct.unpack_from(order + "I", data, 4)[0])
    if tags is None or TRANSFORMATION in tags or PIXEL_SCALE not in tags or TIEPOINT not in tags or GEOKEYS not in tags:
        return None
    width, height = tags[WIDTH][0], tags[HEIGHT][0]
    samples = tags.get(SAMPLES, (1,))[0]
    bits = set(tags.get(BITS, (1,)))
    kinds = set(tags.get(SAMPLE_FORMAT, (1,)))
    compression, predictor = tags.get(COMPRESSION, (1,))[0], tags.get(PREDICTOR, (1,))[0]
    planar = tags.get(PLANAR, (1,))[0]
    if len(bits) != 1 or len(kinds) != 1 or compression not in (1, 8, 32946) or predictor not in (1, 2):
        return None
    bits_value, kind = bits.pop(), _SAMPLE_KINDS.get(kinds.pop())
    if kind is None or bits_value not in (8, 16, 32, 64) or (kind == "f" and bits_value < 32) or (kind == "f" and predictor == 2):
        return None
    dtype = np.dtype(f"{order}{kind}{bits_value // 8}")
    per_chunk = 1 if planar == 2 else samples
    if TILE_OFFSETS in tags:
        chunk_w, chunk_h = tags[TILE_WIDTH][0], tags[TILE_HEIGHT][0]
        offsets, counts = tags[TILE_OFFSETS], tags[TILE_COUNTS]
    elif STRIP_OFFSETS in tags:
        chunk_w, chunk_h = width, min(tags.get(ROWS_PER_STRIP, (height,))[0], height)
        offsets, counts = tags[STRIP_OFFSETS], tags[STRIP_COUNTS]
    else:
        return None
    across, down = -(-width // chunk_w), -(-height // chunk_h)
    if len(offsets) < across * down or len(counts) < across * down:
        return None
    planes = samples if planar == 2 and all_bands else 1
    kept = samples if all_bands else 1
    if planar == 2 and len(offsets) < across * down * planes:
        return None
    out = np.empty((kept, down * chunk_h, across * chunk_w), dtype=dtype)
    for plane in range(planes):  # planar: one plane per band; chunky: every band in each chunk
        for index in range(across * down):
            at = plane * across * down + index
            raw = data[offsets[at]:offsets[at] + counts[at]]
            if compression != 1:
                raw = zlib.decompress(raw)
            rows = chunk_h if TILE_OFFSETS in tags else min(chunk_h, height - (index // across) * chunk_h)
            chunk = np.frombuffer(raw, dtype=dtype, count=rows * chunk_w * per_chunk).reshape(rows, chunk_w, per_chunk)
            if predictor == 2:
                chunk = np.cumsum(chunk, axis=1, dtype=dtype)
            top, left = (index // across) * chunk_h, (index % across) * chunk_w
            if planar == 2:
                out[plane, top:top + rows, left:left + chunk_w] = chunk[:, :, 0]
            else:
                out[:, top:top + rows, left:left + chunk_w] = chunk[:, :, :kept].transpose(2, 0, 1)
    out = out[:, :height, :width].astype(dtype.newbyteorder("="), copy=False)
    band = out if all_bands else out[0]
    nodata = tags.get(GDAL_NODATA)
    return PlainTiff(band, samples,
                     tags[PIXEL_SCALE], tags[TIEPOINT], tags[GEOKEYS],
                     nodata.decode("ascii", "replace").rstrip("\x00") if isinstance(nodata, bytes) else None)


_NEEDED = frozenset({WIDTH, HEIGHT, BITS, COMPRESSION, STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_COUNTS, PLANAR,
                     PREDICTOR, TILE_WIDTH, TILE_HEIGHT, TILE_OFFSETS, TILE_COUNTS, SAMPLE_FORMAT, PIXEL_SCALE, TIEPOINT,
                     GEOKEYS, GDAL_NODATA})


def _tags(data: bytes, order: str, offset: int) -> dict[int, tuple] | None:
    """The first IFD's tags this reader uses, as value tuples (ASCII as bytes); others (a colour table
    of 65,536 entries, GDAL metadata) only by their presence."""
    (count,) = struct.unpack_from(order + "H", data, offset)
    entries = struct.unpack_from(order + "HHI4s" * count, data, offset + 2)
    tags: dict[int, tuple] = {}
    for at in range(0, 4 * count, 4):
        tag, kind, n, inline = entries[at:at + 4]
        if tag not in _NEEDED:
            tags[tag] = ()
            continue
        size = _SIZES.get(kind)
        if size is None:
            return None
        raw = inline if size * n <= 4 else data[(start := struct.unpack(order + "I", inline)[0]):start + size * n]
        if kind == 2:
            tags[tag] = raw[:n]
        elif kind in (5, 10):
            continue  # rationals: no tag read here uses them
        else:
            tags[tag] = struct.unpack(f"{order}{n}{_TYPES[kind]}", raw[:size * n])
    return tags
