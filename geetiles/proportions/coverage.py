"""How much of each class lies inside one chip's geometry, in pixels.

A rectangular chip on its own pixel grid (every grid, UTM and Major TOM chip downloaded as geetiles
does it) covers each of its pixels wholly, so every pixel counts 1. Any other geometry (communes,
random pieces, clipped chips, polygons with holes) weighs each pixel by the exact fraction of it
inside the polygon, computed by exactextract (the reference for exact zonal statistics). Its sum is
checked against the polygon's area: exactextract loses a pixel where an edge runs exactly through
pixel corners diagonally, and there every pixel the polygon meets is clipped by GEOS instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geetiles.classes import UNKNOWN, LabelTable
from geetiles.tiff import ChipRaster

_ALIGNED_TOLERANCE_PX = 1e-6  # a rectangle within this of the raster's edges covers it exactly
_RECTANGLE_AREA_TOLERANCE = 1e-9  # of its box's area: a rectangle, not a skewed quadrilateral


@dataclass
class ChipCounts:
    classes: np.ndarray  # pixels of each class inside the geometry (fractions of pixels at its edge)
    inside: float  # pixels of the geometry, valid or not: its area in pixels
    unknown: float  # pixels inside with a value in no class (left out, like nodata)


_NOT_GIVEN = object()


def count_classes(raster: ChipRaster, geometry, table: LabelTable, rectangle=_NOT_GIVEN) -> ChipCounts:
    """Class pixels of ``raster`` inside ``geometry`` (given in the raster's CRS). ``rectangle``: what
    :func:`rectangles` gave for this geometry, when a caller counting many chips found it in one call."""
    if rectangle is _NOT_GIVEN:
        [rectangle] = rectangles(np.array([geometry], dtype=object))
    if rectangle is not None and _rectangle_covers(rectangle, raster):
        # one pass: NODATA and UNKNOWN (-1, -2) shifted to bins 1 and 0, classes from bin 2 on
        bins = np.bincount(table.class_index(raster.values).ravel() + 2, minlength=len(table.keys) + 2)
        return ChipCounts(bins[2:].astype(np.float64), float(raster.values.size), float(bins[0]))
    x0, dx, _, y0, _, dy = raster.transform
    index, weights = _covered_pixels(raster, geometry, table)
    inside = float(shapely.area(geometry)) / abs(dx * dy)
    within = float(shapely.area(shapely.clip_by_rect(geometry, *raster.bounds))) / abs(dx * dy)
    if abs(weights.sum() - within) > 1e-6 * max(within, 1.0):
        index, weights = _clipped_pixels(raster, geometry, table)
    valid = index >= 0
    counts = np.bincount(index[valid], weights=weights[valid], minlength=len(table.keys))
    unknown = float(weights[index == UNKNOWN].sum())
    return ChipCounts(counts.astype(np.float64), inside, unknown)


def rectangles(geometries: np.ndarray) -> list[tuple[float, float, float, float] | None]:
    """Per geometry, its bounds when it is an axis-aligned rectangle (a polygon without holes, with 4
    corners, as large as its bounding box), else None: one call per property for a whole group of chips,
    not five per chip."""
    from geetiles.overlap import is_rectangle

    plain = is_rectangle(geometries, tolerance=_RECTANGLE_AREA_TOLERANCE)
    return [tuple(b) if ok else None for ok, b in zip(plain.tolist(), shapely.bounds(geometries).tolist())]


def _rectangle_covers(rectangle: tuple[float, float, float, float], raster: ChipRaster) -> bool:
    """True when the rectangle is the raster's own (up to a millionth of a pixel)."""
    x0, dx, _, y0, _, dy = raster.transform
    left, bottom, right, top = raster.bounds
    minx, miny, maxx, maxy = rectangle
    tolerance_x, tolerance_y = abs(dx) * _ALIGNED_TOLERANCE_PX, abs(dy) * _ALIGNED_TOLERANCE_PX
    return (
        abs(minx - left) <= tolerance_x
        and abs(maxx - right) <= tolerance_x
        and abs(miny - bottom) <= tolerance_y
        and abs(maxy - top) <= tolerance_y
    )


def _covered_pixels(raster: ChipRaster, geometry, table: LabelTable) -> tuple[np.ndarray, np.ndarray]:
    """Class index and covered fraction of every pixel the geometry meets (exactextract)."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    x0, dx, _, y0, _, dy = raster.transform
    if dx <= 0 or dy >= 0:
        raise ValueError("chip rasters must be north-up")
    left, bottom, right, top = raster.bounds
    # no nodata given to exactextract: nodata is the class table's to decide (it is also valid_frac's)
    source = NumPyRasterSource(np.ascontiguousarray(raster.values), left, bottom, right, top, srs_wkt=None)
    feature = {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geometry)}
    result = exact_extract(source, [feature], ["values", "coverage"], output="geojson")
    properties = result[0]["properties"] if result else {"values": [], "coverage": []}
    values = np.asarray(properties["values"])
    weights = np.asarray(properties["coverage"], dtype=np.float64)
    return table.class_index(values.astype(raster.values.dtype, copy=False)) if values.size else values.astype(
        np.int64
    ), weights


def _clipped_pixels(raster: ChipRaster, geometry, table: LabelTable) -> tuple[np.ndarray, np.ndarray]:
    """The same as :func:`_covered_pixels` by clipping every pixel of the polygon's window with GEOS:
    slower, and exact where exactextract is not."""
    x0, dx, _, y0, _, dy = raster.transform
    height, width = raster.values.shape
    minx, miny, maxx, maxy = shapely.bounds(geometry).tolist()
    col0, col1 = max(int(np.floor((minx - x0) / dx)), 0), min(int(np.ceil((maxx - x0) / dx)), width)
    row0, row1 = max(int(np.floor((maxy - y0) / dy)), 0), min(int(np.ceil((miny - y0) / dy)), height)
    if col0 >= col1 or row0 >= row1:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    cols, rows = np.meshgrid(np.arange(col0, col1), np.arange(row0, row1))
    left, top = x0 + cols.ravel() * dx, y0 + rows.ravel() * dy
    shapely.prepare(geometry)
    weights = np.empty(left.size)
    for start in range(0, left.size, 100_000):
        part = slice(start, start + 100_000)
        boxes = shapely.box(left[part], top[part] + dy, left[part] + dx, top[part])
        weights[part] = shapely.area(shapely.intersection(boxes, geometry)) / abs(dx * dy)
    index = table.class_index(raster.values[row0:row1, col0:col1]).ravel()
    return index, weights
