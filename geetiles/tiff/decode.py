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
    if bands is None:
        chosen, samples = range(layout.samples), slice(None)
    else:
        chosen = list(bands)
        if not chosen or min(chosen) < 0 or max(chosen) >= layout.samples:
            raise IndexError(f"bands {chosen} of a {layout.samples}-band file")
        samples = slice(chosen[0], chosen[0] + 1) if len(chosen) == 1 else chosen  # a view where it can be
    native = layout.dtype.newbyteorder("=")
    if across == down == 1 and not layout.planar:  # one tile (the download's COGs) or strip: views of it
        chunk = _chunk(data, layout, 0, 0)
        return chunk[:height, :width, samples].transpose(2, 0, 1).astype(native, order="C", copy=True)
    planes = chosen if layout.planar else (0,)  # planar: one plane per band; chunky: every band in each chunk
    out = np.empty((len(chosen), down * chunk_h, across * chunk_w), dtype=layout.dtype)
    for plane_index, plane in enumerate(planes):
        for index in range(across * down):
            chunk = _chunk(data, layout, plane * across * down + index, index // across)
            rows = chunk.shape[0]
            top, left = (index // across) * chunk_h, (index % across) * chunk_w
            if layout.planar:
                out[plane_index, top : top + rows, left : left + chunk_w] = chunk[:, :, 0]
            else:
                out[:, top : top + rows, left : left + chunk_w] = chunk[:, :, samples].transpose(2, 0, 1)
    return out[:, :height, :width].astype(native, copy=False)


def _chunk(data: bytes, layout: Layout, at: int, row: int) -> np.ndarray:
    """Chunk ``at`` (the ``row``-th row of chunks) decompressed and undifferenced, (rows, width,
    samples in it): a strip at the bottom holds only the rows left."""
    chunk_w, chunk_h = layout.chunk
    raw = data[layout.offsets[at] : layout.offsets[at] + layout.counts[at]]
    if layout.compression != 1:
        raw = zlib.decompress(raw)
    rows = chunk_h if layout.tiled else min(chunk_h, layout.height - row * chunk_h)
    per_chunk = 1 if layout.planar else layout.samples
    chunk = np.frombuffer(raw, dtype=layout.dtype, count=rows * chunk_w * per_chunk).reshape(rows, chunk_w, per_chunk)
    if layout.predictor == 2:
        chunk = np.cumsum(chunk, axis=1, dtype=layout.dtype)
    return chunk
