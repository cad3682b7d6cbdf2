"""The check that the fast TIFF header reader reads what GDAL reads, shared by the reader's and the
mosaic's tests (each on its own chips)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geetiles.tiff import read_header
from geetiles.tiff.reader import _header_with_rasterio


def assert_header_agrees_with_gdal(path: Path) -> None:
    fast, gdal = read_header(path), _header_with_rasterio(path)
    fields = ("width", "height", "count", "dtype", "crs", "nodata", "block")
    assert {name: getattr(fast, name) for name in fields} == {name: getattr(gdal, name) for name in fields}
    assert np.allclose(fast.transform, gdal.transform, rtol=0, atol=1e-12)
