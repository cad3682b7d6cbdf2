"""largest_overlap against a brute-force scan of every unit for every chip (the original's way)."""

import numpy as np
import shapely
from shapely.affinity import rotate
from shapely.geometry import box

from geetiles.areas import area_m2
from geetiles.overlap import NONE, argmax_per_group, largest_overlap


def _brute_force(chips, units) -> np.ndarray:
    best = np.full(len(chips), NONE)
    for i, chip in enumerate(chips):
        areas = [(-1.0, 0)]
        for j, unit in enumerate(units):
            if shapely.intersects(chip, unit):
                area = round(float(area_m2([shapely.intersection(chip, unit)])[0]), 2)
                areas.append((area, -j))
        area, negative_row = max(areas)
        best[i] = -negative_row if area >= 0 else NONE
    return best


def test_largest_overlap_equals_a_brute_force_scan():
    rng = np.random.default_rng(0)
    points = shapely.points(rng.uniform(6.0, 6.5, 40), rng.uniform(49.5, 49.9, 40))
    region = box(6.0, 49.5, 6.5, 49.9)
    units = np.asarray(
        [
            shapely.intersection(cell, region)
            for cell in shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points)))
        ],
        dtype=object,
    )
    x = rng.uniform(5.95, 6.55, 400)
    y = rng.uniform(49.45, 49.95, 400)
    boxes = shapely.box(x, y, x + 0.02, y + 0.013)  # some outside every unit, many on borders
    tilted = np.asarray([rotate(chip, 10) for chip in boxes[300:]], dtype=object)  # and chips that are not rectangles
    chips = np.concatenate([boxes[:300], tilted])
    expected = _brute_force(chips, units)
    found = largest_overlap(chips, units, chunk=37)
    assert (found == expected).all()
    assert (found == NONE).any() and (found != NONE).sum() > 250


def test_ties_go_to_the_unit_first_in_the_file():
    """A chip split exactly in half between two units (a mirror-symmetric case) takes the first;
    the order of the units in the file decides, not the order the index returns them in."""
    left, right = box(0, 0, 1, 2), box(1, 0, 2, 2)
    chip = box(0.5, 0.5, 1.5, 1.0)
    assert largest_overlap(np.asarray([chip]), np.asarray([left, right])).tolist() == [0]
    assert largest_overlap(np.asarray([chip]), np.asarray([right, left])).tolist() == [0]


def test_a_chip_inside_one_unit_takes_it_without_measuring(monkeypatch):
    import geetiles.overlap as overlap

    def never(geometry):
        raise AssertionError("no area should be measured for a chip in one unit only")

    monkeypatch.setattr(overlap, "area_m2", never)
    chips = np.asarray([box(6.1, 49.1, 6.2, 49.2), box(8, 49, 8.1, 49.1)])
    assert largest_overlap(chips, np.asarray([box(6, 49, 7, 50)])).tolist() == [0, NONE]


def test_argmax_per_group_takes_the_largest_area_and_the_first_unit_on_ties():
    groups = np.array([7, 3, 7, 3, 7, 5])
    units = np.array([4, 9, 2, 1, 6, 0])
    areas = np.array([2.0, 1.0, 5.0, 1.0, 5.0, 0.5])  # group 7: units 2 and 6 tie at 5; group 3: units 9 and 1 tie
    rows, winners = argmax_per_group(groups, units, areas)
    assert rows.tolist() == [3, 5, 7]
    assert winners.tolist() == [1, 0, 2]
