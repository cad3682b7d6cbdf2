"""Deterministic pixel values for the fake Earth Engine server.

Each value is a known function of the pixel centre's lon/lat, so a test can
recompute what any chip must contain (and so detect shifted, transposed or
mis-projected chips) without storing reference data:

- integer dtypes: (floor(lon*1000)*3 + floor(lat*1000)*7 + 17*band_index) mod M, M = min(251, dtype max)
- float dtypes:   lon + lat/100 + band_index

With ``FAKE_EE_PROJECTED_PIXELS=1`` in the server's environment (``--projected-pixels``, for
benchmarks) a projected grid's values use its x/y in km in place of lon/lat: no pyproj, whose 0.4 s
per million pixels would otherwise be the fake's own CPU competing with the client on a small machine
(Earth Engine's cost is the latency model's). Still a pure function of each pixel centre.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
from pyproj import Transformer

Affine6 = tuple[float, float, float, float, float, float]

_GEOGRAPHIC = frozenset({"EPSG:4326", "OGC:CRS84"})


@lru_cache(maxsize=32)
def _to_lonlat(crs_code: str) -> Transformer:
    """One transformer per CRS: building one costs far more than using it."""
    return Transformer.from_crs(crs_code, "EPSG:4326", always_xy=True)


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for a in arrays:
        a.setflags(write=False)
    return arrays


@lru_cache(maxsize=64)
def lonlat_grid(crs_code: str, transform: Affine6, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of every pixel centre, shape (height, width), read-only."""
    scale_x, shear_x, translate_x, shear_y, scale_y, translate_y = transform
    cols = np.arange(width, dtype=np.float64) + 0.5
    rows = np.arange(height, dtype=np.float64)[:, None] + 0.5
    x = translate_x + cols * scale_x + rows * shear_x
    y = translate_y + cols * shear_y + rows * scale_y
    x, y = (np.ascontiguousarray(a) for a in np.broadcast_arrays(x, y))
    if crs_code.upper() not in _GEOGRAPHIC and os.environ.get("FAKE_EE_PROJECTED_PIXELS") == "1":
        x, y = x / 1000.0, y / 1000.0
    elif crs_code.upper() not in _GEOGRAPHIC:
        x, y = (np.asarray(a, dtype=np.float64) for a in _to_lonlat(crs_code).transform(x, y))
    return _frozen(x, y)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _band_independent_terms(
    crs_code: str, transform: Affine6, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """The parts of both formulas that do not depend on the band, computed once per chip."""
    lon, lat = lonlat_grid(crs_code, transform, width, height)
    int_base = (np.floor(lon * 1000.0) * 3.0 + np.floor(lat * 1000.0) * 7.0).astype(np.int64)
    float_base = lon + lat / 100.0
    return _frozen(int_base, float_base)  # type: ignore[return-value]


def integer_modulus(dtype: np.dtype) -> int:
    """Values stay in [0, M) so they fit every integer dtype, signed or not."""
    return int(min(251, np.iinfo(dtype).max))


def pixel_values(
    crs_code: str,
    transform: Affine6,
    width: int,
    height: int,
    band_index: int,
    dtype: np.dtype | type | str,
) -> np.ndarray:
    """Band `band_index` of a chip on the given grid, shape (height, width), in `dtype`.

    transform is (scaleX, shearX, translateX, shearY, scaleY, translateY), as in the
    computePixels `grid.affineTransform`; values are sampled at pixel centres.
    """
    dtype = np.dtype(dtype)
    key = (crs_code, tuple(float(v) for v in transform), int(width), int(height))
    int_base, float_base = _band_independent_terms(*key)
    if np.issubdtype(dtype, np.integer):
        return np.remainder(int_base + 17 * int(band_index), integer_modulus(dtype)).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return (float_base + band_index).astype(dtype)
    raise ValueError(f"unsupported pixel dtype {dtype}")
