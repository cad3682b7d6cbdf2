"""Block splits: the fractions met for random and checkerboard blocks, the checkerboard pattern (the
classic one for two splits, periodic, val and test blocks kept apart) and blocks fixed to the metric
origin."""

from __future__ import annotations

import numpy as np
import pytest

from geetiles.split.blocks import block_ij, block_split, checkerboard_codes, pattern_counts
from geetiles.split.codes import TRAIN
from tests.split.synthetic import FRACTIONS, areas, jittered_grid, worst_error


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
