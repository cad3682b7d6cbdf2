"""Chips that are the cells of ESA's Major TOM grid, so a dataset joins Major TOM Core cell by cell.

The grid is the one of ``MajorTOM/grid.py`` in github.com/ESA-PhiLab/Major-TOM (``Grid(dist)``,
default latitude range [-85, 85]), computed here on arrays for the cells near the AOI only:

* rows: ``n = ceil(pi * 6378.137 km / dist)`` latitudes ``k * 180 / n`` in [-90, 90); row ``k >= 0``
  is ``kU``, row ``-k`` is ``kD``; only rows whose latitude lies in [-85, 85] exist.
* columns of a row at latitude ``lat``: ``m = ceil(2 pi 6378.137 km cos(lat) / dist)`` longitudes
  ``j * 360 / m`` in [-180, 180); column ``j >= 0`` is ``jR``, ``-j`` is ``jL``.
* a cell is named ``{row}_{col}`` (e.g. ``451U_946L``); its footprint is the lon/lat box from its
  point (bottom left) to the next row's latitude and the next column's longitude; the top row and
  the last column of a row repeat the previous spacing.

The values are computed with the reference's own floating-point steps (numpy ``linspace`` then
``mod``), so bounds are bit for bit those of the reference. Two wrinkles of the reference:

* when ``m`` is odd, a row's last column straddles the antimeridian (e.g. 179.954 to 180.046); its
  box is kept whole, with an eastern edge past 180, so it stays one rectangle;
* in a few rows (12 of the 10 km grid) rounding puts the westmost point at +180 instead of -180,
  so the reference names it ``{m/2}R`` and draws it east of 180; here it keeps its name and is
  drawn where it is on the ground, from -180 eastwards.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geetiles.tiling.chips import Chips, check_candidate_count
from geetiles.tiling.ids import chip_ids

EARTH_RADIUS_KM = 6378.137  # the reference's sphere (WGS 84 equatorial radius)
LATITUDE_LIMIT = 85.0  # the reference's default latitude_range is (-85, 85)
_WGS84_A = 6378137.0
_WGS84_F = 1 / 298.257223563


def majortom_chips(aoi: shapely.Geometry, chip_size_m: float, max_chips: int) -> Chips:
    """The Major TOM cells (spacing ``chip_size_m``) that intersect ``aoi``, south to north then by
    column number, with their names in ``extra["majortom"]``. ``area_km2`` is each cell's exact area
    on the WGS 84 ellipsoid (cells are bounded by meridians and parallels, so no projection is needed)."""
    grid = MajorTomGrid(chip_size_m / 1000.0)
    area = wrap_longitudes(aoi)
    rows, cols = grid.candidates(shapely.bounds(shapely.get_parts(area)), max_chips)
    bounds = grid.cell_bounds(rows, cols)
    boxes = shapely.box(*bounds.T) if len(bounds) else np.empty(0, dtype=object)
    shapely.prepare(area)
    keep = shapely.intersects(area, boxes)
    crossing = np.flatnonzero(bounds[:, 2] > 180)  # cells across the antimeridian: test their west half too
    if len(crossing):
        shifted = bounds[crossing] - [360, 0, 360, 0]
        keep[crossing] |= shapely.intersects(area, shapely.box(*shifted.T))
    rows, cols, bounds = rows[keep], cols[keep], bounds[keep]
    return Chips(boxes[keep], chip_ids(bounds), quadrangle_area_km2(bounds), {"majortom": cell_names(rows, cols)})


class MajorTomGrid:
    """Row and column arithmetic of ``Grid(dist_km)``; rows and columns are signed integers (U, R > 0)."""

    def __init__(self, dist_km: float) -> None:
        self.dist = float(dist_km)
        self.n = math.ceil(math.pi * EARTH_RADIUS_KM / self.dist)  # latitudes from pole to pole
        k = math.floor(LATITUDE_LIMIT / (180.0 / self.n))
        near = np.arange(k - 2, k + 3)
        inside = near[np.abs(self.row_lat(near)) <= LATITUDE_LIMIT]
        self.top = int(inside.max())
        inside = -near[np.abs(self.row_lat(-near)) <= LATITUDE_LIMIT]
        self.bottom = int(inside.min())

    def row_lat(self, rows: np.ndarray) -> np.ndarray:
        """Latitude of row points, as ``np.mod(np.linspace(-90, 90, n + 1)[:-1], 180) - 90`` has them."""
        rows = np.asarray(rows)
        index = np.where(rows >= 0, rows, rows + self.n).astype(float)
        return np.mod(index * (180.0 / self.n) + -90.0, 180.0) - 90.0

    def row_columns(self, lat: np.ndarray) -> np.ndarray:
        """Number of columns of the rows at ``lat``: the circumference there over the spacing."""
        circumference = 2 * math.pi * (EARTH_RADIUS_KM * np.cos(np.asarray(lat) * math.pi / 180))
        return np.ceil(circumference / self.dist).astype(np.int64)

    @staticmethod
    def col_lon(cols: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Longitude of column points in rows of ``m`` columns, as the reference's linspace has them."""
        index = np.where(cols >= 0, cols, cols + m).astype(float)
        return np.mod(index * (360.0 / m) + -180.0, 360.0) - 180.0

    def first_column(self, m: np.ndarray) -> np.ndarray:
        """Westmost column number: ``-(m // 2)``, one more when rounding put the
        antimeridian point at +180 (then the reference calls it ``{m/2}R``)."""
        half = m // 2
        even = m % 2 == 0
        at_east = self.col_lon(half, m) >= 0
        return -half + (even & at_east)

    def candidates(self, part_bounds: np.ndarray, max_chips: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of the cells that may meet boxes ``part_bounds`` (lon within [-180, 180]),
        one column and row of margin on every side; refuses more than ``max_chips`` of them."""
        row_step = 180.0 / self.n
        low = np.maximum(np.floor(part_bounds[:, 1] / row_step) - 1, self.bottom).astype(np.int64)
        high = np.minimum(np.floor(part_bounds[:, 3] / row_step) + 1, self.top).astype(np.int64)
        row_counts = np.maximum(high - low + 1, 0)
        check_candidate_count(int(row_counts.sum()), max_chips)
        part = np.repeat(np.arange(len(part_bounds)), row_counts)
        rows = _ranges(low, row_counts)
        m = self.row_columns(self.row_lat(rows))
        col_step = 360.0 / m
        start = np.floor(part_bounds[part, 0] / col_step).astype(np.int64) - 1
        stop = np.floor(part_bounds[part, 2] / col_step).astype(np.int64) + 1
        first = self.first_column(m)
        whole = stop - start + 1 >= m  # the part spans the row: every column once
        start = np.where(whole, first, start)
        counts = np.where(whole, m, stop - start + 1)
        check_candidate_count(int(counts.sum()), max_chips)
        cols = _ranges(start, counts)
        rows, m, first = (np.repeat(a, counts) for a in (rows, m, first))
        cols = np.mod(cols - first, m) + first  # back into the row's columns across the antimeridian
        span = 2 * int(m.max(initial=0)) + 1  # parts may share cells: keep each once, sorted
        key = np.unique((rows - self.bottom) * span + (cols + span // 2))
        return key // span + self.bottom, key % span - span // 2

    def cell_bounds(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 4) lon/lat boxes of cells, from each point to the next row and column points."""
        bottom = self.row_lat(rows)
        top = np.where(rows < self.top, self.row_lat(rows + 1), bottom + (bottom - self.row_lat(rows - 1)))
        m = self.row_columns(bottom)
        last = self.first_column(m) + m - 1
        west = self.col_lon(cols, m)
        east = np.where(cols < last, self.col_lon(cols + 1, m), west + (west - self.col_lon(cols - 1, m)))
        wrap = np.where((m % 2 == 0) & (cols == m // 2), 360.0, 0.0)  # the reference's +180 westmost cells
        return np.column_stack([west - wrap, bottom, east - wrap, top])


def cell_names(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Major TOM cell names such as ``451U_946L``."""

    def texts(values: np.ndarray, positive: str, negative: str) -> np.ndarray:
        unique, inverse = np.unique(values, return_inverse=True)
        words = [f"{abs(v)}{positive if v >= 0 else negative}" for v in unique.tolist()]
        return np.array(words, dtype=object)[inverse]

    return texts(rows, "U_", "D_") + texts(cols, "R", "L")


def wrap_longitudes(aoi: shapely.Geometry) -> shapely.Geometry:
    """The AOI with any part east of 180 or west of -180 moved by 360 degrees, since cells are
    looked up with longitudes in [-180, 180]."""
    minx, _, maxx, _ = aoi.bounds
    if minx >= -180 and maxx <= 180:
        return aoi
    pieces = []
    for shift in range(int(math.floor((minx + 180) / 360)), int(math.floor((maxx + 180) / 360)) + 1):
        window = shapely.box(-180 + 360 * shift, -90, 180 + 360 * shift, 90)
        piece = shapely.intersection(aoi, window)
        if not piece.is_empty:
            pieces.append(shapely.transform(piece, lambda c, s=shift: c - [360.0 * s, 0.0]))
    return shapely.union_all(pieces)


def quadrangle_area_km2(bounds: np.ndarray) -> np.ndarray:
    """Areas of lon/lat boxes on the WGS 84 ellipsoid, exactly (closed form, no projection): a cell is
    bounded by meridians and parallels, so its area is its share of the zone between its parallels."""
    e2 = _WGS84_F * (2 - _WGS84_F)
    e = math.sqrt(e2)
    b2 = (_WGS84_A * (1 - _WGS84_F)) ** 2

    def zone(lat_deg: np.ndarray) -> np.ndarray:  # area from the equator to lat, per radian of longitude
        s = np.sin(np.radians(lat_deg))
        return b2 / 2 * (s / (1 - e2 * s * s) + np.arctanh(e * s) / e)

    bounds = np.asarray(bounds, dtype=float).reshape(-1, 4)
    width = np.radians(bounds[:, 2] - bounds[:, 0])
    return width * (zone(bounds[:, 3]) - zone(bounds[:, 1])) / 1e6


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(start, start + count)`` for every pair, without a Python loop."""
    total = int(counts.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets
