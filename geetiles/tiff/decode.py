"""Pixels of a plain TIFF (see ``header.plain_layout``), decoded with zlib and numpy alone.

A dataset has up to millions of small chips, and the stages that read every chip (proportions,
export, the loader, ``geet mosaic``) are bound by the cost of opening one, which GDAL pays in full
for every file: ``bench/tiff.py`` measures this path against rasterio (and tifffile, when installed).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from geetiles.tiff.header import Layout


def decode(data: bytes, layout: Layout, bands: Sequence[int] | None = None) -> np.ndarray:
    """The chosen bands (0-based; None: every band) as a (bands, height, width) array in native byte
    order. Raises (zlib.error, ValueError, IndexError) on damaged data: the caller lets GDAL decide."""
    width, height = layout.width, layout.height
    chunk_w, chunk_h = layout.chunk
    across, down = -(-width // chunk_w), -(-height // chunk_h)
    if across == down == 1 and not layout.planar and (bands is None or _in_range(bands, layout.samples)):
        return _one_chunk(data, layout, bands)  # a small chip: one tile (the download's COGs) or one strip
    if bands is None:
        chosen, samples = range(layout.samples), slice(None)
    else:
        chosen = list(bands)
        if not chosen or min(chosen) < 0 or max(chosen) >= layout.samples:
            raise IndexError(f"bands {chosen} of a {layout.samples}-band file")
        samples = slice(chosen[0], chosen[0] + 1) if len(chosen) == 1 else chosen  # a view where it can be
    per_chunk = 1 if layout.planar else layout.samples
    planes = chosen if layout.planar else (0,)  # planar: one plane per band; chunky: every band in each chunk
    out = np.empty((len(chosen), down * chunk_h, across * chunk_w), dtype=layout.dtype)
    for plane_index, plane in enumerate(planes):
        for index in range(across * down):
            at = plane * across * down + index
            raw = data[layout.offsets[at] : layout.offsets[at] + layout.counts[at]]
            if layout.compression != 1:
                raw = zlib.decompress(raw)
            rows = chunk_h if layout.tiled else min(chunk_h, height - (index // across) * chunk_h)
            chunk = np.frombuffer(raw, dtype=layout.dtype, count=rows * chunk_w * per_chunk)
            chunk = chunk.reshape(rows, chunk_w, per_chunk)
            if layout.predictor == 2:
                chunk = np.cumsum(chunk, axis=1, dtype=layout.dtype)
            top, left = (index // across) * chunk_h, (index % across) * chunk_w
            if layout.planar:
                out[plane_index, top : top + rows, left : left + chunk_w] = chunk[:, :, 0]
            else:
                out[:, top : top + rows, left : left + chunk_w] = chunk[:, :, samples].transpose(2, 0, 1)
    return out[:, :height, :width].astype(layout.dtype.newbyteorder("="), copy=False)


def _in_range(bands: Sequence[int], samples: int) -> bool:
    return len(bands) > 0 and 0 <= min(bands) and max(bands) < samples


def _one_chunk(data: bytes, layout: Layout, bands: Sequence[int] | None) -> np.ndarray:
    """:func:`decode` for a pixel-interleaved file of one tile or strip, as views of that one chunk:
    most chips of a dataset, read one by one a million times."""
    width, height = layout.width, layout.height
    chunk_w, chunk_h = layout.chunk
    offset, count = layout.offsets[0], layout.counts[0]
    raw = data[offset : offset + count] if layout.compression == 1 else zlib.decompress(data[offset : offset + count])
    rows = chunk_h if layout.tiled else min(chunk_h, height)
    chunk = np.frombuffer(raw, dtype=layout.dtype, count=rows * chunk_w * layout.samples)
    chunk = chunk.reshape(rows, chunk_w, layout.samples)
    if layout.predictor == 2:
        chunk = np.cumsum(chunk, axis=1, dtype=layout.dtype)
    if bands is None:
        chosen = chunk[:height, :width, :]
    elif len(bands) == 1:
        chosen = chunk[:height, :width, bands[0] : bands[0] + 1]
    else:
        chosen = chunk[:height, :width, list(bands)]
    return chosen.transpose(2, 0, 1).astype(layout.dtype.newbyteorder("="), order="C", copy=True)
