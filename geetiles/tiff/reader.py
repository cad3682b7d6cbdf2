"""The one reader of chip files: their header, their pixels, or both, fast where it can be.

The fast path (``header.py`` and ``decode.py``) reads the plain layouts that geetiles and GDAL write;
anything else, and any file the fast path finds damaged, goes to rasterio, which reads everything GDAL
does and says why it cannot. Every failure is one :class:`UnreadableChip` whose message is one line.
``bench/tiff.py`` measures both paths.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.tiff.decode import decode
from geetiles.tiff.header import TiffHeader, plain_header, plain_layout, read_ifd
from geetiles.tiff.template import Templates

HEAD_BYTES = 65536  # a header is read from the file's first bytes: the IFD and its values lie there
TEMPLATES = Templates()  # the kinds of chip this process has read (see ``template.py``)


class UnreadableChip(Exception):
    """A chip file that is missing, cut short, damaged or not a georeferenced raster (the message
    says which, on one line: ``missing``, ``unreadable (...)``, ``not georeferenced (no CRS)``)."""


@dataclass(frozen=True)
class ChipRaster:
    values: np.ndarray  # the first band, (height, width); with all_bands, (bands, height, width)
    transform: tuple[float, float, float, float, float, float]  # GDAL order: x0, dx, rot, y0, rot, dy
    crs: str  # "EPSG:4326", or WKT for a CRS without an EPSG code
    nodata: float | None  # the file's own nodata value, if it has one

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        x0, dx, _, y0, _, dy = self.transform
        height, width = self.values.shape[-2:]
        xs, ys = (x0, x0 + dx * width), (y0, y0 + dy * height)
        return min(xs), min(ys), max(xs), max(ys)


def read_header(path: str | os.PathLike[str]) -> TiffHeader:
    """A chip's grid, bands, dtype, nodata and band descriptions, from its first bytes when they are
    plain, else from GDAL."""
    head = _read(path, HEAD_BYTES)
    try:
        ifd = read_ifd(head)
        header = plain_header(ifd, Path(path)) if ifd is not None else None
    except Exception:  # a damaged header: GDAL decides
        header = None
    return header if header is not None else _header_with_rasterio(path)


def read_chip(path: str | os.PathLike[str], all_bands: bool = False) -> ChipRaster:
    """The first band (or every band) of a georeferenced chip, with its grid."""
    return chip_of(_read(path), path, all_bands)


def chip_of(data: bytes, path: str | os.PathLike[str], all_bands: bool = False) -> ChipRaster:
    """As :func:`read_chip`, for the bytes ``data`` already read from ``path`` (which GDAL opens again
    only when the fast path cannot decode them)."""
    plain = _plain_chip(data, None if all_bands else [0])
    if plain is None:
        return _chip_with_rasterio(path, all_bands)
    header, values = plain
    return ChipRaster(values if all_bands else values[0], header.transform, header.crs, header.nodata)


def read_pixels(path: str | os.PathLike[str], bands: Sequence[int] | None = None) -> np.ndarray:
    """The chosen bands (0-based; None: every band) of a TIFF, (bands, height, width), native dtype.
    Georeferencing is not needed (nor read)."""
    data = _read(path)
    pixels = _plain_pixels(data, bands)
    if pixels is not None:
        return pixels
    import rasterio

    try:
        with rasterio.open(path) as dataset:
            return dataset.read(None if bands is None else [b + 1 for b in bands])
    except Exception as error:  # rasterio raises several types for broken files
        raise UnreadableChip(f"unreadable ({gdal_reason(error)})") from None


def decode_pixels(data: bytes, bands: Sequence[int] | None = None) -> np.ndarray:
    """As :func:`read_pixels`, for a file's bytes already in memory."""
    pixels = _plain_pixels(data, bands)
    if pixels is not None:
        return pixels
    from rasterio.io import MemoryFile

    try:
        with MemoryFile(data) as memory, memory.open() as dataset:
            return dataset.read(None if bands is None else [b + 1 for b in bands])
    except Exception as error:  # rasterio raises several types for broken files
        raise UnreadableChip(f"unreadable ({gdal_reason(error)})") from None


def why_undecodable(path: str | os.PathLike[str]) -> str | None:
    """None when every band of the file decodes in full, else why not (one line). A file of one image
    (no mask, no overviews) in a plain layout is decoded here; any other file by GDAL, every band and
    every mask. Raises OSError when the file cannot be read at all (no permission, an I/O error): that
    says nothing about its content. Opening alone is not enough: a file cut short by a full disk or a
    kill often opens fine and fails only on its last tiles."""
    data = Path(path).read_bytes()
    if not data:
        return "empty file"
    try:
        ifd = read_ifd(data)
        layout = plain_layout(ifd) if ifd is not None and ifd.next_offset == 0 else None
        if layout is not None:
            decode(data, layout)
            return None
    except Exception:  # cut short, garbage: GDAL decides
        pass
    import rasterio

    try:
        with rasterio.open(path) as dataset:
            dataset.read()
            for index in dataset.indexes:  # a damaged internal mask fails too
                dataset.read_masks(index)
        return None
    except Exception as error:  # rasterio raises several types for broken files
        return gdal_reason(error)


def verified_header(data: bytes) -> TiffHeader:
    """The header of a file's bytes once its pixels decode: by the fast path, every pixel; by GDAL, the
    last block of every band (band-interleaved files end with the last band's). A file cut short
    fails either way."""
    try:
        ifd = read_ifd(data)
        header = plain_header(ifd) if ifd is not None else None
        layout = plain_layout(ifd) if header is not None else None
        if layout is not None:
            decode(data, layout)
            return header
    except Exception:  # cut short, garbage: GDAL decides
        pass
    from rasterio.io import MemoryFile

    try:
        with MemoryFile(data) as memory, memory.open() as dataset:
            header = _header_of(dataset, None)
            dataset.read(window=((dataset.height - 1, dataset.height), (dataset.width - 1, dataset.width)))
            return header
    except UnreadableChip:
        raise
    except Exception as error:  # not a TIFF, cut short, any GDAL decoding error
        raise UnreadableChip(f"unreadable ({gdal_reason(error)})") from None


def gdal_reason(error: BaseException) -> str:
    """GDAL's own message, on one line (rasterio often wraps it in "Read failed. See previous
    exception for details")."""
    text, seen = "", 0
    while error is not None and seen < 4:
        text = " ".join(str(error).split())
        if text and "see previous exception" not in text.lower():
            break
        error, seen = error.__cause__ or error.__context__, seen + 1
    text = text or "unreadable"
    return text if len(text) <= 200 else text[:199] + "…"


def _read(path: str | os.PathLike[str], size: int = -1) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(size)
    except FileNotFoundError:
        raise UnreadableChip("missing") from None
    except OSError as error:
        raise UnreadableChip(f"unreadable ({' '.join(str(error).split())})") from None


def _plain_chip(data: bytes, bands: Sequence[int] | None) -> tuple[TiffHeader, np.ndarray] | None:
    """Header and pixels by the fast path, or None when the file is not plain (or is damaged)."""
    try:
        template = TEMPLATES.find(data)
        if template is not None:
            header, layout = template.read(data)
            return header, decode(data, layout, bands)
        ifd = read_ifd(data)
        if ifd is None:
            return None
        header, layout = plain_header(ifd, descriptive=False), plain_layout(ifd)
        if header is None or layout is None:
            return None
        pixels = decode(data, layout, bands)
        TEMPLATES.learn(data, header, layout)  # only once its pixels decode
        return header, pixels
    except Exception:  # a damaged file: GDAL decides
        return None


def _plain_pixels(data: bytes, bands: Sequence[int] | None) -> np.ndarray | None:
    try:
        ifd = read_ifd(data)
        layout = plain_layout(ifd) if ifd is not None else None
        return decode(data, layout, bands) if layout is not None else None
    except Exception:  # a damaged file: GDAL decides
        return None


def _header_with_rasterio(path: str | os.PathLike[str]) -> TiffHeader:
    import rasterio

    try:
        with rasterio.open(path) as dataset:
            return _header_of(dataset, Path(path))
    except UnreadableChip:
        raise
    except Exception as error:  # rasterio raises several types for broken files
        raise UnreadableChip(_missing_or(path, error)) from None


def _header_of(dataset, path: Path | None) -> TiffHeader:
    """What GDAL says of an open dataset, as the fast path says it (GDAL's AREA_OR_POINT item comes
    from the GeoKeys, not from the file's metadata)."""
    if dataset.crs is None:
        raise UnreadableChip("not georeferenced (no CRS)")
    epsg = dataset.crs.to_epsg()
    rows, cols = dataset.block_shapes[0]
    metadata = {k: v for k, v in dataset.tags().items() if k != "AREA_OR_POINT"}
    return TiffHeader(
        dataset.width,
        dataset.height,
        dataset.count,
        dataset.dtypes[0],
        tuple(float(v) for v in dataset.transform.to_gdal()),
        f"EPSG:{epsg}" if epsg else dataset.crs.to_wkt(),
        dataset.nodata,
        (cols, rows),
        tuple(dataset.descriptions),
        path,
        metadata,
    )


def _chip_with_rasterio(path: str | os.PathLike[str], all_bands: bool) -> ChipRaster:
    import rasterio

    try:
        with rasterio.open(path) as dataset:
            values = dataset.read() if all_bands else dataset.read(1)
            transform, crs, nodata = dataset.transform.to_gdal(), dataset.crs, dataset.nodata
    except Exception as error:  # rasterio raises several types for broken files
        raise UnreadableChip(_missing_or(path, error)) from None
    if crs is None:
        raise UnreadableChip("not georeferenced (no CRS)")
    epsg = crs.to_epsg()
    return ChipRaster(values, tuple(float(v) for v in transform), f"EPSG:{epsg}" if epsg else crs.to_wkt(), nodata)


def _missing_or(path: str | os.PathLike[str], error: BaseException) -> str:
    return "missing" if not Path(path).exists() else f"unreadable ({gdal_reason(error)})"
