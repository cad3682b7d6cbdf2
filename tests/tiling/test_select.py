import numpy as np
import shapely

from geetiles.tiling.select import lattice_intersects


def test_block_selection_equals_testing_every_cell():
    rng = np.random.default_rng(7)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
    radii = rng.uniform(20, 60, 40)
    area = shapely.Polygon(np.column_stack([100 + radii * np.cos(angles), 100 + radii * np.sin(angles)]))
    area = area.difference(shapely.Point(100, 100).buffer(8))  # a hole: inner blocks on a border too
    nx, ny = 157, 203  # not multiples of the block size
    x0, y0 = np.meshgrid(np.arange(nx) * 1.3, np.arange(ny) * 1.1, indexing="ij")
    for block in (1, 7, 32):
        mask = lattice_intersects(x0, y0, x0 + 1.3, y0 + 1.1, area, block=block)
        brute = shapely.intersects(area, shapely.box(x0, y0, x0 + 1.3, y0 + 1.1))
        assert mask.sum() > 1000 and (mask == brute).all()


def test_empty_lattice():
    empty = np.empty((0, 5))
    assert lattice_intersects(empty, empty, empty, empty, shapely.box(0, 0, 1, 1)).shape == (0, 5)
