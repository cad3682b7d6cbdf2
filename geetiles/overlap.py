"""For every chip, the foreign unit it overlaps most: a spatial index instead of the original's
scan of every unit for every chip (O(N·M)), and areas in square metres instead of square degrees.

Chips meeting one unit only take it without any area computed (the common case: a chip inside a
commune); only chips on unit borders have their overlaps cut and measured, on the ellipsoid
(``geetiles.areas``). Lon/lat rectangles (grid and Major TOM chips) are cut by GEOS's
rectangle clipping instead of a general intersection. Ties (overlaps equal to 0.01 m²,
so that rounding cannot decide) go to the unit that comes first in the foreign file.
"""

from __future__ import annotations

import numpy as np
import shapely

from geetiles.areas import area_m2

NONE = -1  # row of "no unit": the chip meets none


def largest_overlap(chips: np.ndarray, units: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Row (in ``units``) of the unit each chip overlaps most, or -1 where it meets none.
    ``chips`` and ``units`` are lon/lat shapely geometries; ``chunk`` chips are handled at a time,
    so memory stays bounded."""
    best = np.full(len(chips), NONE, dtype=np.int64)
    for chip_rows, unit_rows, areas in overlap_pairs(chips, units, chunk):
        single = np.isnan(areas)
        best[chip_rows[single]] = unit_rows[single]
        if (~single).any():
            rows, winners = argmax_per_group(chip_rows[~single], unit_rows[~single], np.round(areas[~single], 2))
            best[rows] = winners
    return best


def overlap_pairs(chips: np.ndarray, units: np.ndarray, chunk: int = 200_000):
    """Per chunk of chips: (chip rows, unit rows, overlap areas in m²) of every chip-unit pair that
    intersects. Areas are measured only for chips meeting several units; NaN for a chip's only unit."""
    tree = shapely.STRtree(units)
    for start in range(0, len(chips), chunk):
        part = chips[start : start + chunk]
        chip_rows, unit_rows = tree.query(part, predicate="intersects")
        if not len(chip_rows):
            continue
        counts = np.bincount(chip_rows, minlength=len(part))
        single = counts[chip_rows] == 1
        areas = np.full(len(chip_rows), np.nan)
        if (~single).any():
            shared_chips, shared_units = chip_rows[~single], unit_rows[~single]
            rectangle = is_rectangle(part)[shared_chips]
            areas[~single] = area_m2(_overlaps(part[shared_chips], units[shared_units], rectangle))
        yield start + chip_rows, unit_rows, areas


def is_rectangle(chips: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
    """Polygons that are their bounding box (four corners, no hole), one call per property for them
    all. ``tolerance`` 0: exactly (clipping by the box must give what an intersection gives); else
    their area within that share of the box's (the proportions: a chip moved into its raster's CRS)."""
    simple = (shapely.get_type_id(chips) == 3) & (shapely.get_num_coordinates(chips) == 5)
    simple &= shapely.get_num_interior_rings(chips) == 0
    if tolerance == 0:
        return simple & (shapely.area(chips) == shapely.area(shapely.envelope(chips)))
    bounds = shapely.bounds(chips)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    with np.errstate(invalid="ignore"):
        return simple & (np.abs(shapely.area(chips) - box_area) <= tolerance * box_area)


def _overlaps(chips: np.ndarray, units: np.ndarray, rectangle: np.ndarray) -> np.ndarray:
    """Each chip cut by its unit: rectangles by clipping, other chips by a general intersection."""
    bounds = shapely.bounds(chips)
    out = np.empty(len(chips), dtype=object)
    if (~rectangle).any():
        out[~rectangle] = shapely.intersection(chips[~rectangle], units[~rectangle])
    clip = shapely.lib.clip_by_rect
    rows = np.flatnonzero(rectangle)
    out[rows] = [clip(unit, *box) for unit, box in zip(units[rows].tolist(), bounds[rows].tolist())]
    return out


def argmax_per_group(groups: np.ndarray, values: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each group, its value with the largest area; on ties the smallest value (the unit first
    in the foreign file)."""
    order = np.lexsort((values, -areas, groups))  # by group, largest area first, then unit row
    groups, values = groups[order], values[order]
    first = np.ones(len(groups), dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    return groups[first], values[first]
