"""The grid of a mosaic: in the chips' own CRS when they all share one projected CRS (e.g. one UTM
zone), with ``meters_per_pixel`` in its units and the grid snapped to multiples of the pixel size;
otherwise (lon/lat chips, or several CRSs) in EPSG:4326, with ``meters_per_pixel`` converted to degrees
at the mosaic's centre latitude, separately for longitude and latitude (a pixel is about ``M`` x ``M``
metres there, as the chips downloaded with ``pixels_lonlat`` are)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geetiles.errors import UserInputError
from geetiles.tiff import TiffHeader


@dataclass(frozen=True)
class Grid:
    crs: str  # "EPSG:n" or WKT
    x0: float
    y1: float  # top edge
    dx: float
    dy: float  # positive: row height
    width: int
    height: int

    @property
    def transform(self):
        from affine import Affine

        return Affine(self.dx, 0.0, self.x0, 0.0, -self.dy, self.y1)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.x0, self.y1 - self.dy * self.height, self.x0 + self.dx * self.width, self.y1

    def gdal_transform(self) -> str:
        return f"{float(self.x0)!r}, {float(self.dx)!r}, 0.0, {float(self.y1)!r}, 0.0, {-float(self.dy)!r}"


def degrees_per_meter(latitude: float) -> tuple[float, float]:
    """Degrees of longitude and of latitude per metre at ``latitude`` (WGS 84 ellipsoid)."""
    phi = math.radians(latitude)
    a, e2 = 6378137.0, 6.69437999014e-3
    w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
    lon_m = math.pi / 180 * a * math.cos(phi) / w
    lat_m = math.pi / 180 * a * (1 - e2) / w**3
    return 1 / max(lon_m, 1e-6), 1 / lat_m


def cells(span: float, step: float) -> int:
    return max(1, math.ceil(round(span / step, 6)))


def choose_grid(headers: Sequence[TiffHeader], meters_per_pixel: float) -> tuple[Grid, str]:
    """The mosaic's grid and a phrase saying why that CRS (see the module's docstring)."""
    from rasterio.crs import CRS

    crss = sorted({h.crs for h in headers})
    if len(crss) == 1:
        crs = CRS.from_user_input(crss[0])
        if crs.is_projected:
            unit = crs.linear_units_factor[1] if crs.linear_units_factor else 1.0
            res = meters_per_pixel / unit
            bounds = np.array([h.bounds for h in headers])
            x0 = math.floor(round(bounds[:, 0].min() / res, 6)) * res
            y1 = math.ceil(round(bounds[:, 3].max() / res, 6)) * res
            x1, y0 = bounds[:, 2].max(), bounds[:, 1].min()
            grid = Grid(crss[0], x0, y1, res, res, cells(x1 - x0, res), cells(y1 - y0, res))
            return grid, "the chips' common CRS"
    west, south, east, north = _lonlat_bounds(headers)
    deg_x, deg_y = degrees_per_meter((south + north) / 2)
    dx, dy = meters_per_pixel * deg_x, meters_per_pixel * deg_y
    grid = Grid("EPSG:4326", west, north, dx, dy, cells(east - west, dx), cells(north - south, dy))
    why = (
        "the chips are in lon/lat"
        if crss == ["EPSG:4326"]
        else (f"the chips are in {len(crss)} CRSs" if len(crss) > 1 else "the chips' CRS is not projected")
    )
    return grid, why


def _lonlat_bounds(headers: Sequence[TiffHeader]) -> tuple[float, float, float, float]:
    """The union of the chips' footprints in lon/lat (edges densified, so a UTM chip's curved
    edges are covered)."""
    from pyproj import CRS as ProjCRS
    from pyproj import Transformer

    boxes = []
    for crs in sorted({h.crs for h in headers}):
        b = np.array([h.bounds for h in headers if h.crs == crs])
        if crs == "EPSG:4326":
            boxes.append([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
            continue
        t = np.linspace(0.0, 1.0, 11)
        xs = np.concatenate(
            [
                b[:, [0]] + (b[:, [2]] - b[:, [0]]) * t,
                b[:, [0]] + 0 * t,
                b[:, [2]] + 0 * t,
                b[:, [0]] + (b[:, [2]] - b[:, [0]]) * t,
            ],
            axis=1,
        )
        ys = np.concatenate(
            [
                b[:, [1]] + 0 * t,
                b[:, [1]] + (b[:, [3]] - b[:, [1]]) * t,
                b[:, [1]] + (b[:, [3]] - b[:, [1]]) * t,
                b[:, [3]] + 0 * t,
            ],
            axis=1,
        )
        transformer = Transformer.from_crs(ProjCRS.from_user_input(crs), ProjCRS.from_epsg(4326), always_xy=True)
        lon, lat = transformer.transform(xs.ravel(), ys.ravel())
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            raise UserInputError(f"the chips in {crs[:60]} cannot be placed in lon/lat")
        boxes.append([lon[ok].min(), lat[ok].min(), lon[ok].max(), lat[ok].max()])
    boxes = np.array(boxes)
    return boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()


def native_grid(headers: Sequence[TiffHeader]) -> Grid:
    """A grid in the chips' own CRS covering them, at their finest pixel size."""
    bounds = np.array([h.bounds for h in headers])
    dx = min(h.transform[1] for h in headers)
    dy = min(-h.transform[5] for h in headers)
    x0, y1 = bounds[:, 0].min(), bounds[:, 3].max()
    return Grid(headers[0].crs, x0, y1, dx, dy, cells(bounds[:, 2].max() - x0, dx), cells(y1 - bounds[:, 1].min(), dy))
