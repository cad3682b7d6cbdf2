"""The guard gap: no held-out chip within the buffer of a chip of a split of higher priority, for every
strategy and for rotated irregular chips, and the leakage report; distances are checked by brute force
with GEOS."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import shapely
import shapely.affinity

from geetiles.split.bands import band_split
from geetiles.split.blocks import block_split
from geetiles.split.codes import GAP, TEST, TRAIN, VAL
from geetiles.split.gap import guard_gap, leakage_distances, nearest_within
from geetiles.split.groups import group_split
from geetiles.split.random_split import random_split
from tests.split.synthetic import FRACTIONS, jittered_grid


def squares(centres: np.ndarray, side: float = 100.0) -> np.ndarray:
    h = side / 2
    return shapely.box(centres[:, 0] - h, centres[:, 1] - h, centres[:, 0] + h, centres[:, 1] + h)


def brute_distance(geoms: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return np.inf
    return float(shapely.distance(geoms[a][:, None], geoms[b][None, :]).min())


def square_distance(centres: np.ndarray, side: float, a: np.ndarray, b: np.ndarray) -> float:
    """brute_distance for axis-aligned squares of one side, in closed form: the gap along x and y."""
    if len(a) == 0 or len(b) == 0:
        return np.inf
    gaps = np.maximum(np.abs(centres[a][:, None, :] - centres[b][None, :, :]) - side, 0.0)
    return float(np.hypot(gaps[..., 0], gaps[..., 1]).min())


def test_the_closed_form_equals_geos_on_squares():
    centres = jittered_grid(12, 9)
    geoms, everyone = squares(centres, 90.0), np.arange(len(centres))
    for chip in (0, 17, 60):
        others = np.delete(everyone, chip)
        assert square_distance(centres, 90.0, np.array([chip]), others) == pytest.approx(
            brute_distance(geoms, np.array([chip]), others), abs=1e-9
        )
    assert square_distance(centres, 90.0, everyone[:50], everyone[60:]) == pytest.approx(
        brute_distance(geoms, everyone[:50], everyone[60:]), abs=1e-9
    )


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
    distance = functools.partial(square_distance, centres, 90.0)  # GEOS's distance, in closed form
    assert distance(np.r_[val, test], train) > buffer_m
    assert distance(test, val) > buffer_m
    # priority train > val > test: train never moves, and only chips that had to go became gap
    assert np.array_equal(out[codes == TRAIN], codes[codes == TRAIN])
    assert np.all((out == codes) | (out == GAP))
    for chip in np.flatnonzero((out == GAP) & (codes == VAL)):
        assert distance(np.array([chip]), train) <= buffer_m
    for chip in np.flatnonzero((out == GAP) & (codes == TEST)):
        assert distance(np.array([chip]), np.r_[train, val]) <= buffer_m


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
