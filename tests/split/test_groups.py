"""Group splits: the fractions met by weight, groups never cut (also when grouping another strategy's
codes afterwards), and the codes independent of the order of the chips."""

from __future__ import annotations

import numpy as np
import pytest

from geetiles.split.bands import band_split
from geetiles.split.codes import GAP, TEST, TRAIN, VAL
from geetiles.split.groups import group_by, group_split
from tests.split.synthetic import FRACTIONS, areas, jittered_grid, worst_error


@pytest.mark.parametrize("by_area", [False, True])
def test_group_split_fractions_by_weight(by_area):
    rng = np.random.default_rng(2)
    sizes = rng.integers(1, 60, 300)  # groups of very different sizes
    groups = np.repeat(np.array([f"unit-{k}" for k in range(len(sizes))], dtype=object), sizes)
    rng.shuffle(groups)
    w = areas(len(groups)) if by_area else None
    codes = group_split(groups, w, FRACTIONS, seed=4)
    assert worst_error(codes, w) <= 0.01


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


def test_group_split_ignores_chip_order():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 50, 800).astype(str)
    w = areas(800)
    order = rng.permutation(800)
    assert np.array_equal(
        group_split(groups, w, FRACTIONS, seed=2)[order], group_split(groups[order], w[order], FRACTIONS, seed=2)
    )
