"""Geometric split strategies: fractions, whole groups, the guard gap, seeds, band geometry.

All data is small, seeded and made here; distances are checked by brute force with GEOS.
"""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
import shapely.affinity

from geetiles.split import metric
from geetiles.split.bands import across_coordinate, band_index, band_split
from geetiles.split.blocks import block_ij, block_split, checkerboard_codes, pattern_counts
from geetiles.split.codes import GAP, NAMES, TEST, TRAIN, VAL, achieved_fractions
from geetiles.split.gap import guard_gap, leakage_distances, nearest_within
from geetiles.split.groups import group_by, group_split
from geetiles.split.metric import chip_centres, local_metric, project_chips
from geetiles.split.random_split import random_split

FRACTIONS = (0.7, 0.15, 0.15)


def jittered_grid(nx: int, ny: int, spacing: float = 100.0, seed: int = 0) -> np.ndarray:
    """Centres of an nx x ny grid of chips, each nudged a little, in metres."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    xy = np.column_stack([i.ravel(), j.ravel()]) * spacing - [nx * spacing / 2, ny * spacing / 2]
    return xy + np.random.default_rng(seed).uniform(-spacing / 10, spacing / 10, xy.shape)


def squares(centres: np.ndarray, side: float = 100.0) -> np.ndarray:
    h = side / 2
    return shapely.box(centres[:, 0] - h, centres[:, 1] - h, centres[:, 0] + h, centres[:, 1] + h)


def areas(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


def worst_error(codes, weights, fractions=FRACTIONS) -> float:
    return float(np.max(np.abs(achieved_fractions(codes, weights) - np.asarray(fractions))))


def brute_distance(geoms: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return np.inf
    return float(shapely.distance(geoms[a][:, None], geoms[b][None, :]).min())


# --- fractions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("by_area", [False, True])
def test_random_split_fractions(by_area):
    n = 5000
    w = areas(n) if by_area else None
    codes = random_split(n, w, FRACTIONS, seed=3)
    assert codes.dtype == np.int8 and set(np.unique(codes)) == {TRAIN, VAL, TEST}
    largest = (w.max() / w.sum()) if by_area else 1 / n
    assert worst_error(codes, w) <= largest  # two cuts, each off by at most half a chip


@pytest.mark.parametrize("by_area", [False, True])
@pytest.mark.parametrize("bands", [5, 12, 40])
def test_band_split_fractions(by_area, bands):
    centres = jittered_grid(60, 50)
    w = areas(len(centres)) if by_area else None
    codes = band_split(centres, w, FRACTIONS, 30.0, bands=bands, seed=1)
    assert worst_error(codes, w) <= max(1 / bands, 0.01)


@pytest.mark.parametrize("by_area", [False, True])
def test_band_split_fractions_by_width(by_area):
    centres = jittered_grid(80, 40)
    w = areas(len(centres)) if by_area else None
    codes = band_split(centres, w, FRACTIONS, 75.0, band_width_m=250.0, seed=0)
    used = len(np.unique(band_index(centres, 75.0, band_width_m=250.0)))
    assert worst_error(codes, w) <= max(1 / used, 0.01)


@pytest.mark.parametrize("by_area", [False, True])
def test_block_split_random_fractions(by_area):
    centres = jittered_grid(80, 80)  # 8 km x 8 km, 400 blocks of 400 m
    w = areas(len(centres)) if by_area else None
    codes = block_split(centres, w, FRACTIONS, 400.0, "random", seed=5)
    assert worst_error(codes, w) <= 0.01


@pytest.mark.parametrize("by_area", [False, True])
def test_block_split_checkerboard_fractions(by_area):
    centres = jittered_grid(150, 150)  # 15 km x 15 km, 3600 blocks of 250 m
    w = areas(len(centres)) if by_area else None
    for fractions in (FRACTIONS, (0.8, 0.1, 0.1), (0.5, 0.5, 0.0), (0.6, 0.2, 0.2)):
        codes = block_split(centres, w, fractions, 250.0, "checkerboard", seed=0)
        assert worst_error(codes, w, fractions) <= 0.02, fractions


@pytest.mark.parametrize("by_area", [False, True])
def test_group_split_fractions_by_weight(by_area):
    rng = np.random.default_rng(2)
    sizes = rng.integers(1, 60, 300)  # groups of very different sizes
    groups = np.repeat(np.array([f"unit-{k}" for k in range(len(sizes))], dtype=object), sizes)
    rng.shuffle(groups)
    w = areas(len(groups)) if by_area else None
    codes = group_split(groups, w, FRACTIONS, seed=4)
    assert worst_error(codes, w) <= 0.01


# --- whole groups --------------------------------------------------------------------------------


def assert_groups_whole(codes, groups):
    for label in np.unique(groups):
        assert len(np.unique(codes[groups == label])) == 1, label


def test_groups_never_cut():
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 120, 3000)
    codes = group_split(groups, areas(3000), FRACTIONS, seed=0)
    assert_groups_whole(codes, groups)


def test_group_by_takes_the_heaviest_split_of_each_group():
    codes = np.array([TRAIN, VAL, VAL, TEST, TRAIN, GAP, GAP], dtype=np.int8)
    groups = np.array(["a", "a", "a", "b", "b", "c", "c"], dtype=object)
    weights = np.array([5.0, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0])
    out = group_by(codes, groups, weights)
    assert out.tolist() == [TRAIN, TRAIN, TRAIN, TEST, TEST, GAP, GAP]
    assert group_by(codes, groups).tolist() == [VAL, VAL, VAL, TRAIN, TRAIN, GAP, GAP]  # by count; tie -> train


def test_group_by_on_bands_keeps_groups_whole():
    centres = jittered_grid(40, 40)
    groups = (np.floor(centres[:, 0] / 700) * 1000 + np.floor(centres[:, 1] / 700)).astype(int)
    codes = group_by(band_split(centres, None, FRACTIONS, 20.0, bands=10), groups)
    assert_groups_whole(codes, groups)


# --- guard gap -----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["random", "bands", "blocks", "checkerboard", "groups"])
@pytest.mark.parametrize("buffer_m", [0.0, 150.0, 420.0])
def test_guard_gap_holds_geometrically(strategy, buffer_m):
    centres = jittered_grid(36, 30)
    geoms = squares(centres, 90.0)  # 10 m apart, give or take the jitter
    w = shapely.area(geoms)
    codes = {
        "random": lambda: random_split(len(w), w, FRACTIONS, seed=0),
        "bands": lambda: band_split(centres, w, FRACTIONS, 35.0, bands=9),
        "blocks": lambda: block_split(centres, w, FRACTIONS, 500.0, "random"),
        "checkerboard": lambda: block_split(centres, w, FRACTIONS, 500.0, "checkerboard"),
        "groups": lambda: group_split((centres[:, 0] // 300).astype(int), w, FRACTIONS),
    }[strategy]()
    out = guard_gap(geoms, codes, buffer_m)
    train, val, test = (np.flatnonzero(out == k) for k in (TRAIN, VAL, TEST))
    assert brute_distance(geoms, np.r_[val, test], train) > buffer_m
    assert brute_distance(geoms, test, val) > buffer_m
    # priority train > val > test: train never moves, and only chips that had to go became gap
    assert np.array_equal(out[codes == TRAIN], codes[codes == TRAIN])
    assert np.all((out == codes) | (out == GAP))
    for chip in np.flatnonzero((out == GAP) & (codes == VAL)):
        assert brute_distance(geoms, np.array([chip]), train) <= buffer_m
    for chip in np.flatnonzero((out == GAP) & (codes == TEST)):
        assert brute_distance(geoms, np.array([chip]), np.r_[train, val]) <= buffer_m


def test_guard_gap_on_rotated_irregular_chips():
    rng = np.random.default_rng(11)
    corner = rng.uniform(0, 4000, (700, 2))
    side = rng.uniform(20, 150, 700)
    boxes = shapely.box(corner[:, 0], corner[:, 1], corner[:, 0] + side, corner[:, 1] + side * 1.7)
    geoms = np.array([shapely.affinity.rotate(b, a) for b, a in zip(boxes, rng.uniform(0, 90, 700))])
    codes = rng.choice(3, 700, p=[0.6, 0.2, 0.2]).astype(np.int8)
    for buffer_m in (0.0, 40.0, 300.0):
        out = guard_gap(geoms, codes, buffer_m)
        train, val, test = (np.flatnonzero(out == k) for k in (TRAIN, VAL, TEST))
        assert brute_distance(geoms, np.r_[val, test], train) > buffer_m
        assert brute_distance(geoms, test, val) > buffer_m
    # the search itself against brute force, for every cap
    b = shapely.bounds(geoms)
    queries, targets = np.flatnonzero(codes > 0), np.flatnonzero(codes == 0)
    truth = shapely.distance(geoms[queries][:, None], geoms[targets][None, :]).min(axis=1)
    for cap in (0.0, 60.0, 500.0):
        found = nearest_within(geoms, b, queries, targets, cap)
        assert np.array_equal(found, np.where(truth <= cap, truth, np.inf))


def test_guard_gap_none_leaves_codes():
    codes = np.array([0, 1, 2], dtype=np.int8)
    assert np.array_equal(guard_gap(squares(np.zeros((3, 2))), codes, None), codes)


def test_leakage_distances_match_brute_force():
    centres = jittered_grid(30, 30)
    geoms = squares(centres, 90.0)
    codes = guard_gap(geoms, band_split(centres, None, FRACTIONS, 10.0, bands=6), 200.0)
    train, held = np.flatnonzero(codes == TRAIN), np.flatnonzero((codes == VAL) | (codes == TEST))
    truth = shapely.distance(geoms[held][:, None], geoms[train][None, :]).min(axis=1)
    report = leakage_distances(geoms, codes, 200.0)
    assert report["measured"] == len(held)
    assert report["min_m"] == pytest.approx(truth.min())
    assert report["p5_m"] == pytest.approx(np.percentile(truth, 5))
    assert report["median_m"] == pytest.approx(np.median(truth))
    assert report["share_within_buffer"] == 0.0 and report["share_touching"] == 0.0
    sampled = leakage_distances(geoms, codes, 200.0, sample=25, seed=1)
    assert sampled["measured"] == 25 and sampled["min_m"] == pytest.approx(truth.min())  # min stays exact
    raw = band_split(centres, None, FRACTIONS, 10.0, bands=6)
    before = leakage_distances(geoms, raw, 200.0)
    held = np.flatnonzero(raw != TRAIN)
    truth = shapely.distance(geoms[held][:, None], geoms[raw == TRAIN][None, :]).min(axis=1)
    assert before["share_within_buffer"] == pytest.approx(np.mean(truth <= 200.0))
    assert before["share_touching"] == pytest.approx(np.mean(truth == 0))


# --- seeds ---------------------------------------------------------------------------------------


def test_same_seed_same_codes_other_seed_other_codes():
    centres = jittered_grid(50, 50)
    w = areas(len(centres))
    groups = (centres[:, 0] // 250).astype(int) * 100 + (centres[:, 1] // 250).astype(int)
    runs = {
        "random": lambda s: random_split(len(w), w, FRACTIONS, seed=s),
        "blocks": lambda s: block_split(centres, w, FRACTIONS, 400.0, "random", seed=s),
        "groups": lambda s: group_split(groups, w, FRACTIONS, seed=s),
    }
    for name, run in runs.items():
        assert np.array_equal(run(0), run(0)), name
        assert not np.array_equal(run(0), run(1)), name
    for run in (
        lambda s: band_split(centres, w, FRACTIONS, 33.0, bands=20, seed=s),
        lambda s: block_split(centres, w, FRACTIONS, 400.0, "checkerboard", seed=s),
    ):
        assert np.array_equal(run(3), run(3))


def test_group_split_ignores_chip_order():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 50, 800).astype(str)
    w = areas(800)
    order = rng.permutation(800)
    assert np.array_equal(
        group_split(groups, w, FRACTIONS, seed=2)[order], group_split(groups[order], w[order], FRACTIONS, seed=2)
    )


# --- band geometry -------------------------------------------------------------------------------


def measured_azimuth(points: np.ndarray, index: np.ndarray, guess: float) -> tuple[float, float]:
    """Azimuths within 2 degrees of ``guess`` for which the band index is monotone across the bands.

    Returns the middle and the width of that interval: the direction of the bands as seen on the
    output alone.
    """
    angles = guess + np.arange(-2.0, 2.0001, 0.02)
    a = np.radians(angles)[:, None]
    across = points[:, 0] * np.cos(a) - points[:, 1] * np.sin(a)
    ordered = np.take_along_axis(np.broadcast_to(index, across.shape), np.argsort(across, axis=1), axis=1)
    steps = np.diff(ordered, axis=1)
    consistent = np.all(steps >= 0, axis=1) | np.all(steps <= 0, axis=1)
    assert consistent.any()
    found = angles[consistent]
    return (found.min() + found.max()) / 2, found.max() - found.min()


@pytest.mark.parametrize("aspect", [0.1, 0.25, 1.0, 4.0, 10.0])
def test_band_azimuth_matches_request(aspect):
    rng = np.random.default_rng(int(aspect * 10))
    width, height = 10_000 * np.sqrt(aspect), 10_000 / np.sqrt(aspect)
    points = rng.uniform(-0.5, 0.5, (8_000, 2)) * [width, height]
    for azimuth in (0.0, 17.0, 30.0, 45.0, 60.0, 90.0, 123.0, 150.0, -30.0):
        index = band_index(points, azimuth, bands=8)
        codes = band_split(points, None, FRACTIONS, azimuth, bands=8)
        for band in np.unique(index):  # the codes are those of the bands
            assert len(np.unique(codes[index == band])) == 1
        middle, width_deg = measured_azimuth(points, index, azimuth)
        assert abs(middle - azimuth) <= 0.5 and width_deg < 1.0, (aspect, azimuth, middle, width_deg)


def test_band_azimuth_convention():
    """0 = north-south strips (bands change along x); 90 = east-west strips (they change along y)."""
    points = jittered_grid(20, 20)
    north_south = band_index(points, 0.0, bands=4)
    east_west = band_index(points, 90.0, bands=4)
    assert np.all(np.diff(north_south[np.argsort(points[:, 0])]) >= 0)
    assert np.all(np.diff(east_west[np.argsort(-points[:, 1])]) >= 0)


@pytest.mark.parametrize("azimuth", [10.0, 30.0, 45.0, 90.0, 135.0, 170.0])
def test_plus_and_minus_azimuth_are_mirror_images(azimuth):
    points = jittered_grid(40, 25, seed=3)
    w = areas(len(points))
    mirrored = points * [-1.0, 1.0]
    codes = band_split(points, w, FRACTIONS, azimuth, bands=11, seed=2)
    assert np.array_equal(band_split(mirrored, w, FRACTIONS, -azimuth, bands=11, seed=2), codes)
    assert np.array_equal(across_coordinate(mirrored, -azimuth), across_coordinate(points, azimuth))
    # theta and theta + 180 (and + 360) are the same bands with the same codes
    assert np.array_equal(band_split(points, w, FRACTIONS, azimuth + 180, bands=11, seed=2), codes)
    assert np.array_equal(band_split(points, w, FRACTIONS, azimuth - 360, bands=11, seed=2), codes)


def test_zero_azimuth_is_its_own_mirror_image():
    points = jittered_grid(30, 10)
    index = band_index(points, 0.0, bands=5)
    mirrored = band_index(points * [-1.0, 1.0], 0.0, bands=5)
    assert np.array_equal(mirrored, 4 - index)


def test_band_arguments():
    with pytest.raises(ValueError):
        band_split(jittered_grid(3, 3), None, FRACTIONS, 0.0)
    with pytest.raises(ValueError):
        band_split(jittered_grid(3, 3), None, FRACTIONS, 0.0, band_width_m=100.0, bands=3)
    with pytest.raises(ValueError):
        band_split(jittered_grid(3, 3), None, (0.5, 0.2, 0.2), 0.0, bands=3)


# --- checkerboard ----------------------------------------------------------------------------------


def test_checkerboard_two_splits_is_the_classic_checkerboard():
    centres = jittered_grid(40, 40)
    codes = block_split(centres, None, (0.5, 0.5, 0.0), 500.0, "checkerboard", seed=0)
    i, j = block_ij(centres, 500.0)
    parity = (i + j) % 2
    assert np.array_equal(codes, parity) or np.array_equal(codes, 1 - parity)


def test_checkerboard_three_equal_splits_never_share_an_edge():
    i, j = np.meshgrid(np.arange(-6, 12), np.arange(-5, 9), indexing="ij")
    codes = checkerboard_codes(i, j, np.full(3, 1 / 3))
    assert np.all(codes[1:, :] != codes[:-1, :]) and np.all(codes[:, 1:] != codes[:, :-1])
    assert np.all(np.bincount(codes.ravel()) == codes.size // 3)


@pytest.mark.parametrize("fractions", [FRACTIONS, (0.8, 0.1, 0.1), (0.6, 0.2, 0.2)])
def test_checkerboard_is_periodic_and_keeps_val_and_test_apart(fractions):
    f = np.asarray(fractions)
    period = int(pattern_counts(f).sum())
    i, j = np.meshgrid(np.arange(3 * period), np.arange(3 * period), indexing="ij")
    codes = checkerboard_codes(i, j, f)
    assert np.array_equal(codes[:period, :period], codes[period : 2 * period, period : 2 * period])
    shares = np.bincount(codes[:period, :period].ravel(), minlength=3) / period**2
    assert np.max(np.abs(shares - f)) <= 0.005
    if f[0] >= 0.6:  # room enough: no val or test block shares an edge with another val or test block
        held = codes != TRAIN
        assert not np.any(held[1:, :] & held[:-1, :]) and not np.any(held[:, 1:] & held[:, :-1])


def test_blocks_are_aligned_to_the_metric_origin():
    centres = np.array([[-1.0, -1.0], [1.0, 1.0], [999.0, 0.5], [1000.0, 0.5]])
    i, j = block_ij(centres, 1000.0)
    assert i.tolist() == [-1, 0, 0, 1] and j.tolist() == [-1, 0, 0, 0]
    # dropping chips does not move the blocks of the others
    full = block_split(jittered_grid(30, 30), None, FRACTIONS, 400.0, "checkerboard", seed=1)
    part = block_split(jittered_grid(30, 30)[::3], None, FRACTIONS, 400.0, "checkerboard", seed=1)
    assert np.array_equal(full[::3], part)


# --- empty input -----------------------------------------------------------------------------------


def test_empty_input_returns_empty_codes():
    nothing = np.empty((0, 2))
    empty = np.empty(0, dtype=object)
    results = [
        random_split(0, None, FRACTIONS, seed=0),
        band_split(nothing, None, FRACTIONS, 30.0, bands=4),
        band_split(nothing, None, FRACTIONS, 30.0, band_width_m=100.0),
        block_split(nothing, None, FRACTIONS, 100.0, "random"),
        block_split(nothing, None, FRACTIONS, 100.0, "checkerboard"),
        group_split(np.empty(0, dtype=object), None, FRACTIONS),
        group_by(np.empty(0, dtype=np.int8), []),
        guard_gap(empty, np.empty(0, dtype=np.int8), 100.0),
    ]
    for codes in results:
        assert codes.dtype == np.int8 and codes.shape == (0,)
    assert chip_centres(empty).shape == (0, 2)
    assert leakage_distances(empty, np.empty(0, dtype=np.int8), 100.0)["min_m"] is None
    assert NAMES.tolist() == ["train", "val", "test", "gap"]


# --- metric plane --------------------------------------------------------------------------------


def lonlat_boxes(lon: np.ndarray, lat: np.ndarray, size_deg: float = 0.01) -> np.ndarray:
    return shapely.box(lon, lat, lon + size_deg, lat + size_deg)


def test_local_metric_is_aeqd_centred_on_the_chips():
    lon, lat = np.meshgrid(np.linspace(5.8, 6.5, 20), np.linspace(49.4, 50.1, 20))
    chips = lonlat_boxes(lon.ravel(), lat.ravel())
    plane = local_metric(chips)
    assert plane.lon_0 == pytest.approx(6.155) and plane.lat_0 == pytest.approx(49.755)
    assert "+proj=aeqd" in plane.crs and "+datum=WGS84" in plane.crs
    centres = chip_centres(chips, plane)
    exact = pyproj.Transformer.from_crs("EPSG:4326", plane.crs, always_xy=True)
    middle = shapely.centroid(chips)
    x, y = exact.transform(shapely.get_x(middle), shapely.get_y(middle))
    assert np.allclose(centres, np.column_stack([x, y]), atol=1e-6)
    polygons = plane(chips)
    degree = 111_200.0
    assert shapely.area(polygons[0]) == pytest.approx(
        0.01 * degree * 0.01 * degree * np.cos(np.radians(49.4)), rel=0.01
    )
    assert np.allclose(plane(np.array([[plane.lon_0, plane.lat_0]])), 0.0, atol=1e-6)


def test_chip_centres_are_true_centroids_not_ring_means():
    triangle = np.array([shapely.Polygon([(6.0, 49.0), (6.02, 49.0), (6.0, 49.02), (6.0, 49.0)])], dtype=object)
    plane = local_metric(triangle)
    centre = chip_centres(triangle, plane)
    expected = plane(np.array([[6.02 / 3 + 4.0, 49.0 + 0.02 / 3]]))
    assert np.allclose(centre, expected, atol=0.01)


def test_lattice_projection_agrees_with_exact(monkeypatch):
    lon, lat = np.meshgrid(np.linspace(5.5, 7.0, 80), np.linspace(49.0, 50.0, 80))
    chips = lonlat_boxes(lon.ravel(), lat.ravel(), 0.005)
    exact_plane, exact_centres, exact_polygons = project_chips(chips)
    monkeypatch.setattr(metric, "LATTICE_POINTS", 100)  # force the lattice on a small set
    plane, centres, polygons = project_chips(chips)
    assert plane._lattice  # the lattice was used
    assert np.abs(centres - exact_centres).max() < 0.01
    assert np.abs(shapely.get_coordinates(polygons) - shapely.get_coordinates(exact_polygons)).max() < 0.01


def test_antimeridian_chips_stay_whole():
    chips = np.array(
        [
            shapely.box(179.9, -17.0, 180.0, -16.9),
            shapely.box(-180.0, -17.0, -179.9, -16.9),
            shapely.Polygon([(179.95, -16.8), (-179.95, -16.8), (-179.95, -16.7), (179.95, -16.7)]),
        ]
    )
    plane = local_metric(chips)
    assert abs(abs(plane.lon_0) - 180.0) < 0.06
    centres = chip_centres(chips, plane)
    assert np.all(np.abs(centres) < 30_000)  # all within a few km of the centre, none a world away
    polygons = plane(chips)
    assert np.all(shapely.area(polygons) < 2e8) and np.all(shapely.area(polygons) > 5e7)
