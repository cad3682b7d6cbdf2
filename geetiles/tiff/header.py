"""TIFF headers: the first image file directory (IFD) of a classic TIFF, its GeoTIFF georeferencing
(GeoKeys to an EPSG code), and :class:`TiffHeader`, the one description of a chip file that every
reader returns.

Only what geetiles reads is parsed, from one ``struct`` call over the IFD's entries; other tags are
kept by their presence alone (a colour table of 65,536 entries is never unpacked). Two questions are
asked of an IFD, separately, because they fail for different files:

* :func:`plain_header`: is the georeferencing the plain kind (a north-up pixel scale and tie point,
  an EPSG code, pixels as areas) with one numeric sample type? Then the header is known without GDAL.
* :func:`plain_layout`: are the pixels stored in the plain way (strips or tiles, uncompressed or
  Deflate, horizontal predictor or none, chunky or planar)? Then ``decode.py`` decodes them.

Everything else (BigTIFF, LZW, JPEG, a CRS without an EPSG code, a sheared transform) is None here,
and ``reader.py`` hands the file to rasterio, which reads everything GDAL does.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import unescape

import numpy as np

(
    WIDTH,
    HEIGHT,
    BITS,
    COMPRESSION,
    PHOTOMETRIC,
    STRIP_OFFSETS,
    SAMPLES,
    ROWS_PER_STRIP,
    STRIP_COUNTS,
    PLANAR,
    PREDICTOR,
    COLORMAP,
    TILE_WIDTH,
    TILE_HEIGHT,
    TILE_OFFSETS,
    TILE_COUNTS,
    EXTRA_SAMPLES,
    SAMPLE_FORMAT,
    PIXEL_SCALE,
    TIEPOINT,
    TRANSFORMATION,
    GEOKEYS,
    GDAL_METADATA,
    GDAL_NODATA,
) = (
    256,
    257,
    258,
    259,
    262,
    273,
    277,
    278,
    279,
    284,
    317,
    320,
    322,
    323,
    324,
    325,
    338,
    339,
    33550,
    33922,
    34264,
    34735,
    42112,
    42113,
)
BYTE, ASCII, SHORT, LONG, DOUBLE = 1, 2, 3, 4, 12  # TIFF field types geetiles writes

# field type -> (struct code, bytes per value); rationals (5, 10) have no code: no tag read here uses them
_FIELD_TYPES = {
    1: ("B", 1),
    2: ("s", 1),
    3: ("H", 2),
    4: ("I", 4),
    5: (None, 8),
    6: ("b", 1),
    7: ("B", 1),
    8: ("h", 2),
    9: ("i", 4),
    10: (None, 8),
    11: ("f", 4),
    12: ("d", 8),
    16: ("Q", 8),
}
_READ = frozenset(
    {
        WIDTH,
        HEIGHT,
        BITS,
        COMPRESSION,
        STRIP_OFFSETS,
        SAMPLES,
        ROWS_PER_STRIP,
        STRIP_COUNTS,
        PLANAR,
        PREDICTOR,
        TILE_WIDTH,
        TILE_HEIGHT,
        TILE_OFFSETS,
        TILE_COUNTS,
        SAMPLE_FORMAT,
        PIXEL_SCALE,
        TIEPOINT,
        GEOKEYS,
        GDAL_METADATA,
        GDAL_NODATA,
    }
)
_CHUNK_TABLES = frozenset({STRIP_OFFSETS, STRIP_COUNTS, TILE_OFFSETS, TILE_COUNTS})
_GEOREFERENCING = frozenset({WIDTH, HEIGHT, PIXEL_SCALE, TIEPOINT, GEOKEYS})
_BYTE_ORDERS = {b"II*\x00": "<", b"MM\x00*": ">"}
_SAMPLE_KINDS = {1: "u", 2: "i", 3: "f"}
_DEFLATE = (8, 32946)  # the TIFF 6 and the older Adobe code
_RASTER_TYPE, _GEOGRAPHIC_TYPE, _PROJECTED_TYPE = 1025, 2048, 3072  # GeoKey ids
_USER_DEFINED, _PIXEL_IS_AREA = 32767, 1
_DESCRIPTION = re.compile(r'<Item name="DESCRIPTION" sample="(\d+)" role="description">([^<]*)</Item>')
_DATASET_ITEM = re.compile(r'<Item name="([^"]*)">([^<]*)</Item>')  # no sample, role or domain: the dataset's own
_QUOTE = {"&quot;": '"', "&apos;": "'"}


@dataclass(slots=True)
class Ifd:
    """The first IFD: byte order, the tags geetiles reads (values as tuples, ASCII as bytes; other tags
    as ``()``), and where the next IFD starts (0: the file holds one image, no mask, no overviews)."""

    order: str
    tags: dict[int, tuple | bytes]
    next_offset: int


@dataclass(frozen=True)
class TiffHeader:
    """A chip file's grid, bands and storage, as the fast parser or GDAL reads them."""

    width: int
    height: int
    count: int
    dtype: str  # numpy name, e.g. "uint8"
    transform: tuple[float, float, float, float, float, float]  # GDAL order: x0, dx, row rot., y0, col rot., dy
    crs: str  # "EPSG:n", or WKT for a CRS without an EPSG code
    nodata: float | None
    block: tuple[int, int]  # (x, y) of a tile or strip
    descriptions: tuple[str | None, ...] = ()  # one per band (None: no description)
    path: Path | None = None  # the file it was read from
    metadata: dict[str, str] = field(default_factory=dict, hash=False)  # GDAL's dataset-level items, as stored

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        x0, dx, _, y0, _, dy = self.transform
        xs, ys = (x0, x0 + dx * self.width), (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(slots=True)
class Layout:
    """How a plain TIFF stores its pixels: what ``decode.py`` needs."""

    width: int
    height: int
    samples: int
    dtype: np.dtype  # in the file's byte order
    planar: bool  # one plane per band (PlanarConfiguration 2), else every band in each chunk
    compression: int  # 1 or Deflate
    predictor: int  # 1 or 2 (horizontal differencing)
    tiled: bool
    chunk: tuple[int, int]  # (width, height) of a tile or strip
    offsets: tuple[int, ...]
    counts: tuple[int, ...]


def read_ifd(data: bytes) -> Ifd | None:
    """The first IFD of a classic (not Big) TIFF held in ``data``, which may be only the file's first
    bytes: a value beyond them makes it None, except tile and strip tables (left out, as the header
    does not need them). None for anything that is no classic TIFF."""
    order = _BYTE_ORDERS.get(bytes(data[:4]))
    if order is None or len(data) < 8:
        return None
    (offset,) = struct.unpack_from(order + "I", data, 4)
    if offset + 2 > len(data):
        return None
    (count,) = struct.unpack_from(order + "H", data, offset)
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        return None
    entries = struct.unpack_from(order + "HHI4s" * count, data, offset + 2)
    tags: dict[int, tuple | bytes] = {}
    for at in range(0, 4 * count, 4):
        tag = entries[at]
        if tag not in _READ:
            tags[tag] = ()
            continue
        kind, n, inline = entries[at + 1 : at + 4]
        field_type = _FIELD_TYPES.get(kind)
        if field_type is None:
            return None
        code, size = field_type
        if code is None:
            continue
        if size * n <= 4:
            raw = inline
        else:
            (start,) = struct.unpack(order + "I", inline)
            if start + size * n > len(data):
                if tag in _CHUNK_TABLES:
                    continue
                return None
            raw = data[start : start + size * n]
        tags[tag] = raw[:n] if kind == ASCII else struct.unpack(f"{order}{n}{code}", raw[: size * n])
    return Ifd(order, tags, struct.unpack_from(order + "I", data, end)[0])


def sample_dtype(ifd: Ifd) -> np.dtype | None:
    """The one sample type of every band (in the file's byte order), or None (mixed, 1-bit, 16-bit
    floats, complex...)."""
    bits, kinds = ifd.tags.get(BITS, (1,)), ifd.tags.get(SAMPLE_FORMAT, (1,))
    if bits.count(bits[0]) != len(bits) or kinds.count(kinds[0]) != len(kinds):
        return None
    return _dtype(ifd.order, _SAMPLE_KINDS.get(kinds[0]), bits[0])


@lru_cache(maxsize=64)
def _dtype(order: str, kind: str | None, size: int) -> np.dtype | None:
    if kind is None or size not in (8, 16, 32, 64) or (kind == "f" and size < 32):
        return None
    return np.dtype(f"{order}{kind}{size // 8}")


@lru_cache(maxsize=64)
def _native_name(dtype: np.dtype) -> str:
    return dtype.newbyteorder("=").name


def epsg_code(geokeys) -> int | None:
    """The EPSG code of a GeoKeyDirectory, or None for anything but a plain area-pixel EPSG CRS."""
    values = [int(v) for v in geokeys]
    if len(values) < 4:
        return None
    keys = {
        values[k]: values[k + 3] for k in range(4, min(len(values) - 3, 4 + 4 * values[3]), 4) if values[k + 1] == 0
    }
    if keys.get(_RASTER_TYPE, _PIXEL_IS_AREA) != _PIXEL_IS_AREA:
        return None
    code = keys.get(_PROJECTED_TYPE) or keys.get(_GEOGRAPHIC_TYPE)
    return None if code in (None, _USER_DEFINED) else code


def plain_header(ifd: Ifd, path: Path | None = None, descriptive: bool = True) -> TiffHeader | None:
    """The header of an IFD with plain georeferencing (see the module's doc), or None. Without
    ``descriptive``, band descriptions and metadata items are left out (not parsed): readers of pixels
    do not need them."""
    tags = ifd.tags
    if TRANSFORMATION in tags or not _GEOREFERENCING <= tags.keys():
        return None
    dtype = sample_dtype(ifd)
    epsg = epsg_code(tags[GEOKEYS])
    if dtype is None or epsg is None:
        return None
    sx, sy = float(tags[PIXEL_SCALE][0]), float(tags[PIXEL_SCALE][1])
    i, j, _, x, y = (float(v) for v in tags[TIEPOINT][:5])
    if not (sx > 0 and sy > 0):
        return None
    nodata = None
    if GDAL_NODATA in tags:
        try:
            nodata = float(tags[GDAL_NODATA].decode("ascii", "replace").strip().rstrip("\x00").strip())
        except ValueError:  # GDAL would read something: let it
            return None
    width, height, count = int(tags[WIDTH][0]), int(tags[HEIGHT][0]), int(tags.get(SAMPLES, (1,))[0])
    if TILE_WIDTH in tags and TILE_HEIGHT in tags:
        block = (int(tags[TILE_WIDTH][0]), int(tags[TILE_HEIGHT][0]))
    else:
        block = (width, min(int(tags.get(ROWS_PER_STRIP, (height,))[0]), height))
    descriptions, metadata = _gdal_metadata(tags.get(GDAL_METADATA) if descriptive else None, count)
    return TiffHeader(
        width,
        height,
        count,
        _native_name(dtype),
        (x - i * sx, sx, 0.0, y + j * sy, 0.0, -sy),
        f"EPSG:{epsg}",
        nodata,
        block,
        descriptions,
        path,
        metadata,
    )


def _gdal_metadata(text, count: int) -> tuple[tuple[str | None, ...], dict[str, str]]:
    """Band descriptions and dataset-level items from GDAL's metadata tag (GDAL escapes each value twice:
    its own XML escaping, then the XML document's)."""
    if not isinstance(text, bytes):
        return (None,) * count, {}
    names: list[str | None] = [None] * count
    items: dict[str, str] = {}
    document = text.decode("utf-8", "replace")
    for sample, value in _DESCRIPTION.findall(document):
        if int(sample) < count:
            names[int(sample)] = unescape(unescape(value, _QUOTE), _QUOTE)
    for name, value in _DATASET_ITEM.findall(document):
        items[unescape(name, _QUOTE)] = unescape(unescape(value, _QUOTE), _QUOTE)
    return tuple(names), items


def plain_layout(ifd: Ifd) -> Layout | None:
    """How the pixels are stored, when ``decode.py`` can decode them; None otherwise."""
    tags = ifd.tags
    if WIDTH not in tags or HEIGHT not in tags:
        return None
    dtype = sample_dtype(ifd)
    compression, predictor = tags.get(COMPRESSION, (1,))[0], tags.get(PREDICTOR, (1,))[0]
    if dtype is None or compression not in (1, *_DEFLATE) or predictor not in (1, 2):
        return None
    if predictor == 2 and dtype.kind == "f":
        return None
    width, height = int(tags[WIDTH][0]), int(tags[HEIGHT][0])
    samples, planar = int(tags.get(SAMPLES, (1,))[0]), tags.get(PLANAR, (1,))[0] == 2
    if TILE_OFFSETS in tags and TILE_COUNTS in tags and TILE_WIDTH in tags and TILE_HEIGHT in tags:
        tiled, chunk = True, (int(tags[TILE_WIDTH][0]), int(tags[TILE_HEIGHT][0]))
        offsets, counts = tags[TILE_OFFSETS], tags[TILE_COUNTS]
    elif STRIP_OFFSETS in tags and STRIP_COUNTS in tags and TILE_OFFSETS not in tags:
        tiled, chunk = False, (width, min(int(tags.get(ROWS_PER_STRIP, (height,))[0]), height))
        offsets, counts = tags[STRIP_OFFSETS], tags[STRIP_COUNTS]
    else:
        return None
    if min(chunk) <= 0 or samples <= 0:
        return None
    chunks = -(-width // chunk[0]) * -(-height // chunk[1]) * (samples if planar else 1)
    if len(offsets) < chunks or len(counts) < chunks:
        return None
    return Layout(width, height, samples, dtype, planar, compression, predictor, tiled, chunk, offsets, counts)
