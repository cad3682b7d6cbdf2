"""The tags and the IFD both of geetiles' TIFF layouts write: size and sample type, the GeoTIFF
georeferencing (an EPSG code in GeoKeys, a pixel scale and tie point or a full transformation), GDAL's
metadata (band descriptions, dataset items), its nodata tag, and a palette.

Tag numbers are those of ``header.py``, which reads what is written here.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache
from xml.sax.saxutils import escape

import numpy as np

from geetiles.tiff.header import (
    ASCII,
    BITS,
    COMPRESSION,
    DOUBLE,
    EXTRA_SAMPLES,
    GDAL_METADATA,
    GDAL_NODATA,
    GEOKEYS,
    HEIGHT,
    LONG,
    PHOTOMETRIC,
    PIXEL_SCALE,
    PLANAR,
    SAMPLE_FORMAT,
    SAMPLES,
    SHORT,
    TIEPOINT,
    TILE_HEIGHT,
    TILE_WIDTH,
    TRANSFORMATION,
    WIDTH,
)

SAMPLE_FORMATS = {"u": 1, "i": 2, "f": 3}  # numpy kind -> TIFF SampleFormat
MIN_IS_BLACK, PALETTE = 1, 3  # PhotometricInterpretation
CHUNKY, SEPARATE = 1, 2  # PlanarConfiguration
DEFLATE, HORIZONTAL = 8, 2  # Compression, Predictor
_TYPE_SIZE = {SHORT: 2, LONG: 4, DOUBLE: 8, ASCII: 1}
_TYPE_CODE = {SHORT: "H", LONG: "I", DOUBLE: "d"}


@lru_cache(maxsize=512)
def epsg_key(crs: str) -> tuple[int, bool] | None:
    """(EPSG code, is geographic) for "EPSG:n" strings that GeoKeys can hold, else None."""
    if not crs.upper().startswith("EPSG:"):
        return None
    try:
        code = int(crs.split(":", 1)[1])
    except ValueError:
        return None
    if code == 4326:
        return code, True
    if not 0 < code < 65535:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        parsed = CRS.from_epsg(code)
    except CRSError:
        return None
    if not (parsed.is_geographic or parsed.is_projected):
        return None
    return code, parsed.is_geographic


def geotiff_tags(
    dtype: np.dtype,
    count: int,
    width: int,
    height: int,
    block: int,
    epsg: tuple[int, bool],
    transform: Sequence[float],
    band_names: Sequence[str],
    nodata: float | None,
    metadata: Mapping[str, str],
) -> dict[int, tuple]:
    """Tag -> (field type, values) of a tiled, Deflate, band-separate GeoTIFF; ``transform`` in affine
    order (dx, row rotation, x0, column rotation, dy, y0). The caller adds the tile tables."""
    code, geographic = epsg
    bits = dtype.itemsize * 8
    a, b, c, d, e, f = transform
    tags = {
        WIDTH: (LONG, [width]),
        HEIGHT: (LONG, [height]),
        BITS: (SHORT, [bits] * count),
        COMPRESSION: (SHORT, [DEFLATE]),
        PHOTOMETRIC: (SHORT, [MIN_IS_BLACK]),
        SAMPLES: (SHORT, [count]),
        PLANAR: (SHORT, [SEPARATE]),
        TILE_WIDTH: (SHORT, [block]),
        TILE_HEIGHT: (SHORT, [block]),
        SAMPLE_FORMAT: (SHORT, [SAMPLE_FORMATS[dtype.kind]] * count),
        GEOKEYS: (SHORT, _geokeys(code, geographic)),
    }
    if count > 1:
        tags[EXTRA_SAMPLES] = (SHORT, [0] * (count - 1))
    if b == 0 and d == 0:
        tags[PIXEL_SCALE] = (DOUBLE, [a, -e, 0.0])
        tags[TIEPOINT] = (DOUBLE, [0.0, 0.0, 0.0, c, f, 0.0])
    else:
        tags[TRANSFORMATION] = (DOUBLE, [a, b, 0.0, c, d, e, 0.0, f, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    # GDAL escapes item values twice (its own XML escaping, then the XML document's)
    items = "".join(
        f'<Item name="{escape(key, {chr(34): "&quot;"})}">{escape(escape(value))}</Item>'
        for key, value in metadata.items()
    )
    items += "".join(
        f'<Item name="DESCRIPTION" sample="{i}" role="description">{escape(escape(name))}</Item>'
        for i, name in enumerate(band_names)
    )
    if items:
        tags[GDAL_METADATA] = (ASCII, f"<GDALMetadata>{items}</GDALMetadata>")
    if nodata is not None:
        tags[GDAL_NODATA] = (ASCII, nodata_text(nodata))
    return tags


def directory(tags: dict[int, tuple], start: int) -> bytes:
    """The IFD at offset ``start`` followed by its out-of-line values (word-aligned), no next IFD; its
    length is :func:`directory_size`."""
    return directory_and_positions(tags, start)[0]


def directory_and_positions(tags: dict[int, tuple], start: int) -> tuple[bytes, dict[int, int]]:
    """:func:`directory`, and where each tag's values lie in those bytes (inline or out-of-line), so a
    writer can reuse one IFD for many files and patch only the values that differ between them."""
    ordered = sorted(tags)
    values_at = start + 2 + 12 * len(ordered) + 4
    entries, extra, extra_size = [struct.pack("<H", len(ordered))], [], 0
    positions: dict[int, int] = {}
    for index, tag in enumerate(ordered):
        kind, values = tags[tag]
        payload = values.tobytes() if isinstance(values, np.ndarray) else _pack(kind, values)
        size = len(payload)
        if size <= 4:
            entries.append(struct.pack("<HHI", tag, kind, size // _TYPE_SIZE[kind]) + payload.ljust(4, b"\0"))
            positions[tag] = 2 + 12 * index + 8
        else:
            entries.append(struct.pack("<HHII", tag, kind, size // _TYPE_SIZE[kind], values_at + extra_size))
            positions[tag] = values_at + extra_size - start
            if size % 2:
                payload += b"\0"
            extra.append(payload)
            extra_size += len(payload)
    entries.append(b"\0\0\0\0")
    return b"".join(entries) + b"".join(extra), positions


def directory_size(tags: dict[int, tuple]) -> int:
    """The length of :func:`directory`'s bytes, without packing them: what the data after it starts at."""
    size = 2 + 12 * len(tags) + 4
    for kind, values in tags.values():
        if isinstance(values, np.ndarray):
            length = values.nbytes
        elif kind == ASCII:
            length = len(values.encode("utf-8")) + 1
        else:
            length = len(values) * _TYPE_SIZE[kind]
        if length > 4:
            size += length + length % 2
    return size


def colormap_key(colormap: Mapping[int, Sequence[int]]) -> tuple:
    """A hashable form of a colour table, so its TIFF table is built once per export. Made once per table
    (an export passes the same one for every label chip: building it was a third of encoding a small chip)."""
    items = tuple(colormap.items())
    try:
        return _colormap_key_of(items)
    except TypeError:  # unhashable colours (lists): made each time
        return _make_colormap_key(items)


@lru_cache(maxsize=16)
def _colormap_key_of(items: tuple) -> tuple:
    return _make_colormap_key(items)


def _make_colormap_key(items: tuple) -> tuple:
    return tuple(sorted((int(value), tuple(int(c) for c in color[:3])) for value, color in items))


@lru_cache(maxsize=64)
def colormap_table(entries: tuple, bits: int) -> np.ndarray:
    """TIFF's ColorMap: all reds, then greens, then blues, 2**bits each, 16-bit (GDAL scales by 257)."""
    size = 1 << bits
    table = np.zeros((3, size), dtype="<u2")
    for value, rgb in entries:
        if not 0 <= value < size or len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
            raise ValueError(f"colormap entry {value}: {rgb} is not a {bits}-bit value with 8-bit colours")
        table[:, value] = [c * 257 for c in rgb]
    table = table.ravel()
    table.flags.writeable = False
    return table


def _geokeys(code: int, geographic: bool) -> list[int]:
    model = (1024, 0, 1, 2 if geographic else 1)
    raster = (1025, 0, 1, 1)  # PixelIsArea: the transform maps pixel corners
    crs_key = (2048, 0, 1, code) if geographic else (3072, 0, 1, code)
    keys = [model, raster, crs_key]
    return [1, 1, 0, len(keys), *[v for key in keys for v in key]]


def nodata_text(nodata: float) -> str:
    if isinstance(nodata, float) and math.isnan(nodata):
        return "nan"
    return repr(int(nodata)) if float(nodata).is_integer() else repr(float(nodata))


def _pack(kind: int, values) -> bytes:
    if kind == ASCII:
        return values.encode("utf-8") + b"\0"
    return struct.pack(f"<{len(values)}{_TYPE_CODE[kind]}", *values)
