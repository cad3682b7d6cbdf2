"""Grouping aligned chips into cells (driver) and blocks (worker): which chips share a request."""

from __future__ import annotations

import numpy as np
import pytest

from geetiles.download.blocks import (
    AUTO_SIDE,
    MAX_CHIPS_PER_SIDE,
    Block,
    bundle,
    cell_keys,
    cell_order,
    chips_per_side,
    coalesce_side,
    rectangles,
)
from geetiles.download.grids import GridTable
from geetiles.download.messages import ChipJob
from geetiles.errors import UserInputError
from geetiles.fetching.grid import PixelGrid

EE_BYTES = 50_331_648
RGB = 6  # three uint8 bands and their mask bytes


def table(grids: list[PixelGrid]) -> GridTable:
    names = sorted({g.crs for g in grids})
    return GridTable(
        names,
        [names.index(g.crs) for g in grids],
        [g.transform for g in grids],
        [g.width for g in grids],
        [g.height for g in grids],
    )


def utm(x: float, y: float, side_m: float = 1000.0, pixels: int = 100, crs: str = "EPSG:32631") -> PixelGrid:
    """A UTM chip with its bottom-left corner at (x, y), ``pixels`` a side."""
    size = side_m / pixels
    return PixelGrid(crs, (size, 0.0, x, 0.0, -size, y + side_m), pixels, pixels)


def square(count: int, origin=(520_000.0, 5_519_000.0), **options) -> list[PixelGrid]:
    """count x count neighbouring chips, row by row; the first at the corner of a 20 km square."""
    side = options.get("side_m", 1000.0)
    return [utm(origin[0] + i * side, origin[1] - j * side, **options) for j in range(count) for i in range(count)]


def jobs_of(grids: list[PixelGrid], keys) -> list[ChipJob]:
    return [ChipJob(f"c{i}", g, f"/nowhere/c{i}.tif", None, key) for i, (g, key) in enumerate(zip(grids, keys))]


def test_the_setting_is_auto_off_or_a_side_and_anything_else_is_one_line():
    assert coalesce_side("auto") == AUTO_SIDE and coalesce_side("off") is None and coalesce_side("OFF") is None
    assert coalesce_side(512) == 512 and coalesce_side("2048") == 2048
    assert coalesce_side(100_000, max_side=32768) == 32768  # never past Earth Engine's side
    for bad in ("0", "-4", "1.5", "big", "", "1e3", "../x"):
        with pytest.raises(UserInputError) as caught:
            coalesce_side(bad)
        assert "download.coalesce" in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_setting_is_refused_with_the_other_download_settings():
    from geetiles.cli.compose import compose
    from geetiles.download.settings_check import check_download_settings

    with pytest.raises(UserInputError, match=r"download.coalesce='sometimes' is not auto, off or a block side"):
        check_download_settings(compose(["download.coalesce=sometimes", "source=demo", "labels=none"]))
    check_download_settings(compose(["download.coalesce=512", "source=demo", "labels=none"]))


def test_a_full_square_of_aligned_chips_is_one_cell_in_one_block():
    grids = square(10)
    keys = cell_keys(table(grids), 1000, RGB, EE_BYTES)
    assert None not in keys and len(set(keys)) == 1
    [block] = bundle(jobs_of(grids, keys))
    assert isinstance(block, Block) and len(block.members) == 100
    assert (block.grid.width, block.grid.height) == (1000, 1000) and block.grid.transform == grids[0].transform
    for job, row, col in block.members:  # each chip sits in the block at its own pixels
        assert block.grid.window(row, col, 100, 100) == job.grid


def test_cells_follow_the_side_limit_and_never_span_zones():
    grids = square(8)  # 8 x 8 chips of 100 px, cells of 4 x 4 under a 400 px side
    keys = cell_keys(table(grids), 400, RGB, EE_BYTES)
    assert len(set(keys)) == 4 and all(keys.count(k) == 16 for k in set(keys))
    other_zone = [utm(g.transform[2], g.transform[5] - 1000, crs="EPSG:32632") for g in grids[:4]]
    keys = cell_keys(table(grids[:4] + other_zone), 1000, RGB, EE_BYTES)
    assert set(keys[:4]).isdisjoint(keys[4:])
    units = bundle(jobs_of(grids[:4] + other_zone, keys))
    assert all({job.grid.crs for job, _, _ in unit.members} == {unit.grid.crs} for unit in units)


def test_the_byte_limit_shrinks_the_cell_and_a_chip_over_any_limit_gets_none():
    assert chips_per_side(100, 100, 1000, RGB, EE_BYTES) == (10, 10)
    kx, ky = chips_per_side(100, 100, 1000, RGB, 100 * 100 * RGB * 6)  # room for 6 chips a request
    assert kx * ky <= 6 and kx * ky >= 4
    assert chips_per_side(5000, 5000, 1000, RGB, EE_BYTES) == (0, 0)
    huge = square(2, side_m=50_000.0, pixels=5000)  # each chip alone is over the block side
    assert cell_keys(table(huge), 1024, RGB, EE_BYTES) == [None] * 4
    heavy = square(3)  # 8 float64 bands: 72 bytes a pixel, a 300 px square is 6.5 MB
    assert len(set(cell_keys(table(heavy), 1000, 72, 3 * 100 * 100 * 72))) == 3  # 3 chips fit a request


def test_one_pixel_chips_make_bounded_blocks():
    grids = square(40, side_m=10.0, pixels=1)
    keys = cell_keys(table(grids), 1024, RGB, EE_BYTES)
    sizes = [len(u.members) for u in bundle(jobs_of(grids, keys))]
    assert max(sizes) == MAX_CHIPS_PER_SIDE**2 and sum(sizes) == 1600


def test_unaligned_rotated_and_lonlat_chips_are_fetched_alone():
    shifted = utm(500_003.0, 5_500_000.0)  # origin not a whole number of 10 m pixels
    other_size = utm(501_000.0, 5_500_000.0, pixels=50)  # another pixel size: another lattice
    rotated = PixelGrid("EPSG:32631", (10.0, 1.0, 502_000.0, 0.0, -10.0, 5_501_000.0), 100, 100)
    thirds = utm(503_000.0, 5_500_000.0, pixels=300)  # 3.333... m pixels: centres not exact in binary
    keys = cell_keys(table([shifted, other_size, rotated, thirds]), 1024, RGB, EE_BYTES)
    assert keys == [None, None, None, None] or keys[0] is None and keys[2] is None and keys[3] is None
    lonlat = [  # tiling=grid: each chip its own lon/lat pixel size, not binary fractions
        PixelGrid("EPSG:4326", ((6.01 - 6.0) / 73, 0.0, 6.0 + 0.01 * i, 0.0, -(0.009 / 100), 49.7), 73, 100)
        for i in range(4)
    ]
    assert cell_keys(table(lonlat), 1024, RGB, EE_BYTES) == [None] * 4


def test_a_tiling_with_an_odd_origin_still_coalesces_on_its_own_phase():
    grids = square(4, origin=(500_550.0, 5_500_370.0))  # chips 55 and 37 pixels off the zone's lattice
    keys = cell_keys(table(grids), 1000, RGB, EE_BYTES)
    assert None not in keys
    assert sum(len(u.members) for u in bundle(jobs_of(grids, keys)) if isinstance(u, Block)) == 16


def test_cells_are_handed_out_whole_and_chips_alone_stay_in_place():
    keys = ["a", None, "b", "a", "b", None, "a"]
    order = cell_order(keys)
    assert order == [0, 3, 6, 1, 2, 4, 5]


def test_rectangles_cover_exactly_the_chips_left():
    full = {(r, c) for r in range(3) for c in range(3)}
    assert rectangles(full) == [(0, 0, 3, 3)]
    holed = full - {(1, 1)}
    covered = [
        (r, c)
        for top, left, rows, cols in rectangles(holed)
        for r in range(top, top + rows)
        for c in range(left, left + cols)
    ]
    assert sorted(covered) == sorted(holed)  # nothing twice, nothing done fetched again
    rng = np.random.default_rng(5)
    for _ in range(50):
        cells = {(int(r), int(c)) for r, c in rng.integers(0, 6, size=(int(rng.integers(1, 30)), 2))}
        covered = [
            (r, c)
            for top, left, rows, cols in rectangles(cells)
            for r in range(top, top + rows)
            for c in range(left, left + cols)
        ]
        assert sorted(covered) == sorted(cells)


def test_a_partly_done_cell_fetches_only_the_chips_left():
    grids = square(4)
    keys = cell_keys(table(grids), 1000, RGB, EE_BYTES)
    jobs = jobs_of(grids, keys)
    done = {0, 5, 10, 15}  # the diagonal is on disk
    units = bundle([job for i, job in enumerate(jobs) if i not in done])
    fetched = [job.identifier for u in units for job in ([j for j, _, _ in u.members] if isinstance(u, Block) else [u])]
    assert sorted(fetched) == sorted(j.identifier for i, j in enumerate(jobs) if i not in done)
    pixels = sum(u.grid.width * u.grid.height if isinstance(u, Block) else u.grid.width * u.grid.height for u in units)
    assert pixels == 12 * 100 * 100  # no pixel of a finished chip asked again


def test_a_cell_split_across_workers_is_fetched_by_each_in_its_own_blocks():
    grids = square(4)
    jobs = jobs_of(grids, cell_keys(table(grids), 1000, RGB, EE_BYTES))
    first, second = bundle(jobs[:6]), bundle(jobs[6:])
    assert sum(len(u.members) if isinstance(u, Block) else 1 for u in first + second) == 16


@pytest.mark.parametrize("tiling", ["grid", "majortom", "utm"])
def test_only_utm_tilings_share_a_lattice(tmp_path, tiling):
    """grid and Major TOM chips are lon/lat boxes with a pixel size each (Major TOM: rows with their own
    column spacing), so none is coalesced; UTM chips at 10 m are, all of them."""
    from geetiles.download.grids import plan_grids
    from geetiles.tiles import load_tiles
    from tests.download.helpers import make_tiles

    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.08, 49.66), f"tiling={tiling}", "tiling.chip_size_m=1000")
    chips = load_tiles(tiles)
    keys = cell_keys(plan_grids(chips, None, 10.0), 1024, RGB, EE_BYTES)
    assert len(keys) > 20
    if tiling == "utm":
        assert None not in keys and len(set(keys)) < len(keys) / 4
    else:
        assert keys == [None] * len(keys)
