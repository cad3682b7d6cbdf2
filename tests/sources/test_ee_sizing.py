import pytest

from geetiles.fetching.grid import PixelGrid
from geetiles.sources.ee_sizing import bytes_per_pixel, halve, request_bytes, split

GRID = PixelGrid("EPSG:4326", (0.001, 0.0, 6.0, 0.0, -0.001, 50.0), 1000, 700)


def covers_exactly(grid, windows):
    cells = set()
    for row, col, sub in windows:
        assert sub.transform[2] == pytest.approx(grid.transform[2] + col * grid.transform[0])
        assert sub.transform[5] == pytest.approx(grid.transform[5] + row * grid.transform[4])
        cells |= {(r, c) for r in range(row, row + sub.height) for c in range(col, col + sub.width)}
    return cells == {(r, c) for r in range(grid.height) for c in range(grid.width)}


def test_earth_engine_counts_a_mask_byte_per_band():
    assert bytes_per_pixel([1, 1, 1]) == 6
    assert request_bytes(GRID, [2, 4]) == 1000 * 700 * (3 + 5)


def test_a_fitting_grid_is_one_request():
    assert split(GRID, [1, 1, 1], 50_331_648, 32768) == [(0, 0, GRID)]


def test_oversize_grid_splits_within_both_limits_and_covers_every_pixel_once():
    windows = split(GRID, [4] * 10, 1_000_000, 300)
    assert len(windows) > 1
    for _, _, sub in windows:
        assert request_bytes(sub, [4] * 10) <= 1_000_000 and sub.width <= 300 and sub.height <= 300
    assert covers_exactly(GRID, windows)
    assert sum(sub.width * sub.height for _, _, sub in windows) == GRID.width * GRID.height


def test_halving_splits_the_longer_side():
    windows = halve(GRID)
    assert [(sub.width, sub.height) for _, _, sub in windows] == [(500, 700), (500, 700)]
    assert covers_exactly(GRID, windows)
