"""Parse a computePixels request's grid and render its answer (NPY or GeoTIFF bytes).

Kept apart from the HTTP layer so the rendering can run in a worker thread and
be unit-tested without a server.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from .pixels import Affine6, pixel_values
from .values import Band

NPY_FORMATS = frozenset({"NUMPY_NDARRAY", "NPY"})
GEOTIFF_FORMATS = frozenset({"GEO_TIFF"})
SUPPORTED_FORMATS = NPY_FORMATS | GEOTIFF_FORMATS
_AFFINE_KEYS = ("scaleX", "shearX", "translateX", "shearY", "scaleY", "translateY")


class RequestError(Exception):
    """A malformed request; answered with 400 INVALID_ARGUMENT."""


@dataclass(frozen=True)
class Grid:
    crs_code: str
    transform: Affine6
    width: int
    height: int

    @classmethod
    def from_json(cls, grid: Any) -> Grid:
        """Proto3 JSON omits zero-valued fields, so missing affine terms mean 0."""
        if not isinstance(grid, dict):
            raise RequestError("The fake server needs an explicit 'grid' (dimensions, affineTransform, crsCode).")
        crs_code = grid.get("crsCode")
        if not isinstance(crs_code, str) or not crs_code:
            raise RequestError("The fake server only supports grids with a 'crsCode' (crsWkt is not supported).")
        dims = grid.get("dimensions") or {}
        affine = grid.get("affineTransform") or {}
        try:
            width, height = int(dims.get("width", 0)), int(dims.get("height", 0))
            transform = tuple(float(affine.get(k, 0.0)) for k in _AFFINE_KEYS)
        except (TypeError, ValueError) as exc:
            raise RequestError(f"Invalid grid: {exc}") from None
        if width <= 0 or height <= 0:
            raise RequestError(f"Grid dimensions must be positive, got {width}x{height}.")
        return cls(crs_code, transform, width, height)  # type: ignore[arg-type]

    @property
    def key(self) -> tuple[str, float, float, int, int]:
        """What `calls_by_grid` counts by: enough to tell chips of one tiling apart."""
        return (self.crs_code, self.transform[2], self.transform[5], self.width, self.height)


def request_bytes(bands: list[Band], width: int, height: int) -> int:
    """The service's size rule: each band costs its item size plus one (mask) byte per pixel."""
    return width * height * sum(np.dtype(t).itemsize + 1 for _, t in bands)


def band_arrays(bands: list[Band], grid: Grid) -> list[np.ndarray]:
    return [
        pixel_values(grid.crs_code, grid.transform, grid.width, grid.height, i, dtype)
        for i, (_, dtype) in enumerate(bands)
    ]


def render(bands: list[Band], grid: Grid, file_format: str) -> tuple[bytes, str]:
    """(body, content type) for a successful computePixels answer."""
    arrays = band_arrays(bands, grid)
    if file_format in NPY_FORMATS:
        return _npy(bands, arrays, grid), "application/octet-stream"
    return _geotiff(bands, arrays, grid), "image/tiff"


def _npy(bands: list[Band], arrays: list[np.ndarray], grid: Grid) -> bytes:
    """A structured (height, width) array with one field per band, like the real service sends."""
    out = np.empty((grid.height, grid.width), dtype=[(name, dtype) for name, dtype in bands])
    for (name, _), values in zip(bands, arrays):
        out[name] = values
    buffer = io.BytesIO()
    np.save(buffer, out, allow_pickle=False)
    return buffer.getvalue()


def _geotiff(bands: list[Band], arrays: list[np.ndarray], grid: Grid) -> bytes:
    """GeoTIFF needs one dtype for all bands, so mixed bands are promoted as the service does."""
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.io import MemoryFile

    dtype = np.result_type(*[np.dtype(t) for _, t in bands])
    stack = np.stack([a.astype(dtype, copy=False) for a in arrays])
    with MemoryFile() as memfile:
        with memfile.open(
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=len(bands),
            dtype=dtype.name,
            crs=CRS.from_user_input(grid.crs_code),
            transform=Affine(*grid.transform),
        ) as dst:
            dst.write(stack)
            dst.descriptions = tuple(name for name, _ in bands)
        return bytes(memfile.read())
