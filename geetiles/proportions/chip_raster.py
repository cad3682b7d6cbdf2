"""Read one band of a chip GeoTIFF with its georeferencing, fast.

A chip is a small file (100×100 pixels is typical) and a dataset has up to millions of them, so the
cost per file decides a stage's speed: rasterio (GDAL) spends ~2 ms opening one, tifffile ~0.45 ms,
``geetiles.tiff_reader`` ~0.1 ms for the plain layouts geetiles and GDAL write. Georeferencing must
be the plain kind too (a north-up pixel scale and tie point, an EPSG code, pixels as areas). Any
other file, or a damaged one, goes to rasterio, which reads everything GDAL does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_GT_RASTER_TYPE, _GEOGRAPHIC_TYPE, _PROJECTED_TYPE = 1025, 2048, 3072
_USER_DEFINED = 32767
_PIXEL_IS_AREA = 1


@dataclass(frozen=True)
class ChipRaster:
    values: np.ndarray  # the first band, (height, width); with all_bands, (bands, height, width)
    transform: tuple[float, float, float, float, float, float]  # GDAL order: x0, dx, rot, y0, rot, dy
    crs: str  # "EPSG:4326"
    nodata: float | None  # the file's own nodata value, if it has one

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        x0, dx, _, y0, _, dy = self.transform
        height, width = self.values.shape[-2:]
        xs, ys = (x0, x0 + dx * width), (y0, y0 + dy * height)
        return min(xs), min(ys), max(xs), max(ys)


class UnreadableChip(Exception):
    """A chip file that is missing, truncated or not a georeferenced raster."""


def read_chip(path: Path, all_bands: bool = False) -> ChipRaster:
    """The first band (or every band) of ``path`` and its grid; :class:`UnreadableChip` when it
    cannot be read."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise UnreadableChip("missing") from None
    except OSError as error:
        raise UnreadableChip(f"unreadable ({error})") from None
    try:
        chip = _read_plain(data, all_bands)
    except Exception:  # a damaged file: GDAL decides
        chip = None
    return chip if chip is not None else _read_with_rasterio(path, all_bands)


def _read_plain(data: bytes, all_bands: bool = False) -> ChipRaster | None:
    from geetiles.tiff_reader import read_plain_tiff

    tiff = read_plain_tiff(data, all_bands)
    if tiff is None:
        return None
    epsg = _epsg(tiff.geokeys)
    if epsg is None:
        return None
    sx, sy = float(tiff.pixel_scale[0]), float(tiff.pixel_scale[1])
    i, j, _, x, y, _ = (float(v) for v in tiff.tiepoint[:6])
    nodata = _nodata(tiff.nodata) if tiff.nodata is not None else None
    return ChipRaster(tiff.band, (x - i * sx, sx, 0.0, y + j * sy, 0.0, -sy), f"EPSG:{epsg}", nodata)


def _epsg(directory) -> int | None:
    """The EPSG code of a GeoKeyDirectory, or None for anything but a plain area-pixel EPSG CRS."""
    values = [int(v) for v in directory]
    keys = {values[k]: values[k + 3] for k in range(4, 4 + 4 * values[3], 4) if values[k + 1] == 0}
    if keys.get(_GT_RASTER_TYPE, _PIXEL_IS_AREA) != _PIXEL_IS_AREA:
        return None
    code = keys.get(_PROJECTED_TYPE) or keys.get(_GEOGRAPHIC_TYPE)
    return None if code in (None, _USER_DEFINED) else code


def _nodata(text: str) -> float | None:
    try:
        return float(str(text).strip().rstrip("\x00"))
    except ValueError:
        return None


def _read_with_rasterio(path: Path, all_bands: bool = False) -> ChipRaster:
    import rasterio

    try:
        with rasterio.open(path) as dataset:
            values = dataset.read() if all_bands else dataset.read(1)
            transform = dataset.transform.to_gdal()
            crs = dataset.crs
            nodata = dataset.nodata
    except Exception as error:  # rasterio raises several types for broken files
        raise UnreadableChip("missing" if not Path(path).exists() else f"unreadable ({error})") from None
    if crs is None:
        raise UnreadableChip("not georeferenced (no CRS)")
    epsg = crs.to_epsg()
    return ChipRaster(values, tuple(float(v) for v in transform), f"EPSG:{epsg}" if epsg else crs.to_wkt(), nodata)
