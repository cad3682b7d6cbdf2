"""The writers of chip files: the download's GeoTIFFs here, the export's Cloud-Optimised GeoTIFFs in ``cog``.

Both are one IFD with a handful of tags, written here directly (``tags.py`` builds the tags and the
IFD; the layouts differ), because GDAL's fixed cost per dataset dominates for small chips:
``bench/tiff.py`` measured 0.1 ms of CPU for a 3x100x100 uint8 download chip against 0.8-0.9 ms
through rasterio (the download engine's whole budget is about 1 ms a chip), and 0.5-0.6 ms for an
export COG against 3.9-4.0 ms through GDAL's COG driver, on a busy 2-core machine. Anything they
cannot express (a CRS without an EPSG code, a COG too big for one tile, big-endian or unusual
dtypes) goes to rasterio, and GDAL reads what is written here as what it would have written itself
(``tests/tiff/``).

* GeoTIFF (:func:`encode_geotiff`): tiled (one tile for a small chip, 256-pixel tiles otherwise),
  Deflate level 1, band-separate, as the rasterio profile in :func:`geotiff_with_rasterio`.
* COG: in ``cog`` (:func:`~geetiles.tiff.cog.encode_cog`, :func:`~geetiles.tiff.cog.write_cog`),
  which shares this module's constants and checks.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from itertools import accumulate

import numpy as np

from geetiles.tiff.header import (
    LONG,
    TILE_COUNTS,
    TILE_OFFSETS,
)
from geetiles.tiff.tags import (
    SAMPLE_FORMATS,
    directory,
    directory_size,
    epsg_key,
    geotiff_tags,
)

GEOTIFF_BLOCK = 256  # the download's tile side for chips larger than one tile
LEVEL = 1  # zlib level of both layouts (cog.py takes it from here)

Colormap = Mapping[int, Sequence[int]]


# --- GeoTIFF (the download's chips) ----------------------------------------------------------------


def encode_geotiff(
    array: np.ndarray,
    crs: str,
    transform: Sequence[float],
    band_names: Sequence[str],
    nodata: float | None,
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """GeoTIFF bytes of a (bands, height, width) array. ``transform`` is in affine order (dx, row
    rotation, x0, column rotation, dy, y0), as ``PixelGrid`` holds it; ``metadata`` become
    dataset-level GDAL metadata items."""
    fast = fast_geotiff(array, crs, transform, band_names, nodata, metadata)
    if fast is not None:
        return fast
    return geotiff_with_rasterio(array, crs, transform, band_names, nodata, metadata)


def fast_geotiff(
    array: np.ndarray,
    crs: str,
    transform: Sequence[float],
    band_names: Sequence[str],
    nodata: float | None,
    metadata: Mapping[str, str] | None = None,
) -> bytes | None:
    """What :func:`encode_geotiff` writes, or None when only rasterio can write it."""
    epsg = epsg_key(crs) if isinstance(crs, str) else None
    if epsg is None or array.dtype.kind not in SAMPLE_FORMATS or array.dtype.byteorder == ">":
        return None
    count, height, width = array.shape
    block = geotiff_block(width, height)
    across, down = math.ceil(width / block), math.ceil(height / block)
    padded = np.zeros((count, down * block, across * block), dtype=array.dtype.newbyteorder("<"))
    padded[:, :height, :width] = array
    tiles = padded.reshape(count, down, block, across, block).transpose(0, 1, 3, 2, 4)
    compressed = [
        zlib.compress(np.ascontiguousarray(tiles[b, r, c]).tobytes(), LEVEL)
        for b in range(count)
        for r in range(down)
        for c in range(across)
    ]
    tags = geotiff_tags(
        array.dtype, count, width, height, block, epsg, tuple(transform), list(band_names), nodata, dict(metadata or {})
    )
    tags[TILE_COUNTS] = (LONG, [len(c) for c in compressed])
    tags[TILE_OFFSETS] = (LONG, [0] * len(compressed))  # placeholders: the IFD's size depends on their count
    first = 8 + directory_size(tags)  # the tiles follow the IFD and its values
    tags[TILE_OFFSETS] = (LONG, list(accumulate([len(c) for c in compressed[:-1]], initial=first)))
    return b"".join([b"II*\0" + struct.pack("<I", 8), directory(tags, 8), *compressed])


def geotiff_block(width: int, height: int) -> int:
    """The smallest multiple of 16 covering a small chip, so one tile holds it; 256 otherwise."""
    side = max(width, height)
    return min(GEOTIFF_BLOCK, max(16, -(-side // 16) * 16))


def geotiff_with_rasterio(
    array: np.ndarray,
    crs: str,
    transform: Sequence[float],
    band_names: Sequence[str],
    nodata: float | None,
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """The general path (any CRS GDAL knows); the reference the fast encoder is tested against."""
    import rasterio
    from affine import Affine
    from rasterio.io import MemoryFile

    count, height, width = array.shape
    block = geotiff_block(width, height)
    profile = dict(
        driver="GTiff",
        width=width,
        height=height,
        count=count,
        dtype=array.dtype,
        crs=crs,
        transform=Affine(*transform),
        nodata=nodata,
        compress="deflate",
        zlevel=LEVEL,
        interleave="band",
        tiled=True,
        blockxsize=block,
        blockysize=block,
    )
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(array)
            dataset.descriptions = tuple(band_names)
            if metadata:
                dataset.update_tags(**metadata)
        return memory.read()
