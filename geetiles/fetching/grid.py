"""A chip's pixel grid and its pixels: what every source is asked for and answers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PixelGrid:
    """Earth Engine's ``grid``: CRS, affine (a, b, c, d, e, f) as x = a*col + b*row + c, size."""

    crs: str
    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int

    def to_request(self) -> dict:
        a, b, c, d, e, f = self.transform
        return {
            "dimensions": {"width": self.width, "height": self.height},
            "affineTransform": {"scaleX": a, "shearX": b, "translateX": c, "shearY": d, "scaleY": e, "translateY": f},
            "crsCode": self.crs,
        }

    def window(self, row: int, col: int, height: int, width: int) -> PixelGrid:
        """The sub-grid of ``height`` x ``width`` pixels starting at pixel (row, col)."""
        a, b, c, d, e, f = self.transform
        return PixelGrid(self.crs, (a, b, c + a * col + b * row, d, e, f + d * col + e * row), width, height)


@dataclass
class Pixels:
    array: np.ndarray  # (bands, height, width)
    band_names: list[str]
