"""The drawing functions on synthetic arrays: polygons below report.max_polygons, a raster of chip
centres above it (fast for hundreds of thousands of chips), and the raster's colouring rules."""

from __future__ import annotations

import time

import numpy as np
import pytest
import shapely

from geetiles.report import drawing

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#e7298a"]


def grid_bounds(nx: int, ny: int, size: float = 0.001, x0: float = 5.5, y0: float = 49.5) -> np.ndarray:
    col, row = np.arange(nx * ny) % nx, np.arange(nx * ny) // nx
    x, y = x0 + col * size, y0 + row * size
    return np.column_stack([x, y, x + size, y + size])


def test_many_chips_are_aggregated_fast(tmp_path):
    bounds = grid_bounds(500, 400)  # 200,000 chips
    codes = np.random.default_rng(0).integers(0, 4, len(bounds))
    geometry = shapely.box(*bounds[:10].T)  # never used: too many chips for polygons
    started = time.perf_counter()
    fig, ax = drawing.new_map((5.5, 49.5, 6.0, 49.9), "200,000 chips")
    drawn = drawing.draw_chips(ax, bounds, codes, COLORS, geometry=None, max_polygons=20000)
    drawing.save(fig, tmp_path / "map.png")
    elapsed = time.perf_counter() - started
    assert drawn.mode == "raster" and drawn.chips == len(bounds)
    assert not ax.collections and len(ax.images) == 1  # one image, no polygon
    assert (tmp_path / "map.png").stat().st_size > 1000
    assert elapsed < 10, f"{elapsed:.1f} s for 200,000 chips"
    del geometry


def test_raster_cells_are_chips_without_gaps():
    bounds = grid_bounds(300, 200)
    codes = (np.arange(len(bounds)) % 300 >= 150).astype(np.int64)  # left half code 0, right half code 1
    image, extent = drawing.centre_raster(bounds, codes, np.array([[1, 0, 0, 1], [0, 0, 1, 1]], dtype=float))
    assert image.shape == (200, 300, 4)
    assert (image[..., 3] == 1).all()  # every cell holds a chip: no stripes between centres
    assert (image[:, :150, 0] == 1).all() and (image[:, 150:, 2] == 1).all()
    assert extent == pytest.approx((5.5, 5.8, 49.5, 49.7))


def test_raster_is_capped_and_priority_wins():
    bounds = grid_bounds(3000, 10, size=0.0001)  # more columns than MAX_CELLS: several chips a cell
    codes = np.zeros(len(bounds), dtype=np.int64)
    codes[::97] = 1  # a few "failed" chips
    rgba = np.array([[0.8, 0.8, 0.8, 1], [1, 0, 0, 1]])
    image, _ = drawing.centre_raster(bounds, codes, rgba, priority=[0, 1])
    assert image.shape[1] <= drawing.MAX_CELLS
    red_cells = (image[..., 1] == 0).sum()
    majority, _ = drawing.centre_raster(bounds, codes, rgba)
    assert red_cells > 0 and (majority[..., 1] == 0).sum() < red_cells  # the minority shows only with priority


def test_few_chips_are_one_polycollection():
    from matplotlib.collections import PolyCollection

    bounds = grid_bounds(20, 10, size=0.01)
    geometry = shapely.box(*bounds.T)
    codes = np.arange(len(bounds)) % 4
    codes[0] = -1  # not drawn
    fig, ax = drawing.new_map((5.5, 49.5, 5.7, 49.6), "polygons")
    drawn = drawing.draw_chips(ax, bounds, codes, COLORS, geometry=geometry, max_polygons=1000)
    assert drawn.mode == "polygons" and drawn.chips == 199
    [collection] = ax.collections
    assert isinstance(collection, PolyCollection) and len(collection.get_paths()) == 199


def test_irregular_polygons_and_outlines():
    shapes = np.array(
        [
            shapely.box(0, 0, 1, 1),
            shapely.Polygon([(2, 0), (3, 0), (3, 1), (2.5, 1.5), (2, 1)]),
            shapely.MultiPolygon([shapely.box(4, 0, 5, 1), shapely.box(6, 0, 7, 1)]),
            shapely.box(8, 0, 9, 1).difference(shapely.box(8.4, 0.4, 8.6, 0.6)),
        ]
    )
    vertices, owner = drawing.exterior_vertices(shapes)
    assert owner.tolist() == [0, 1, 2, 2, 3] and len(vertices) == 5
    fig, ax = drawing.new_map((0, 0, 9, 1.5), "shapes")
    assert drawing.draw_outlines(ax, shapes) == 6  # five exteriors and the hole


def test_aspect_follows_latitude():
    fig, ax = drawing.new_map((5.0, 59.0, 6.0, 61.0), "north")
    assert ax.get_aspect() == pytest.approx(2.0, rel=0.01)  # 1 / cos(60°)
    fig, ax = drawing.new_map((5.0, -1.0, 6.0, 1.0), "equator")
    assert ax.get_aspect() == pytest.approx(1.0, rel=1e-3)
