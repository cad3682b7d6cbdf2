"""Square blocks: a metric grid over the chips, every chip in the block holding its centre.

The grid is aligned to the metric origin (block (i, j) covers [i s, (i+1) s) x [j s, (j+1) s)), so
a block's extent does not depend on which chips exist. Two ways to deal blocks:

- ``random``: blocks shuffled and dealt by chip weight; best of ``candidates`` seeded deals
  (:func:`geetiles.split.groups.assign_units`).
- ``checkerboard``: a fixed periodic pattern ``code(i, j) = sequence[(i + step * j + phase) % P]``.
  ``sequence`` has P entries holding round(f_k P) of each split, each split spread evenly;
  P is the smallest period up to 20 within 0.5 % of every fraction (else the closest);
  ``step`` keeps val and test blocks apart: fewest edge-neighbour pairs of two non-train blocks,
  then blocks of one sequence position on the most evenly spread lattice. For 50/50 this is the
  classic (i + j) % 2 checkerboard; 1/3 each never puts two edge-neighbours in one split; 80/10/10
  puts every val and test block among train blocks only. The seed picks the phase. Shares
  follow the pattern, so by weight they are met only as well as the blocks over the AOI sample
  it: many blocks, close fractions.
"""

from __future__ import annotations

import math

import numpy as np

from geetiles.split.codes import CODE_DTYPE, SPLITS, check_fractions, check_weights, empty_codes
from geetiles.split.groups import assign_units

_MAX_PERIOD = 20
_PERIOD_TOLERANCE = 0.005


def block_ij(centres_m: np.ndarray, block_size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Block column and row of each chip centre on the grid aligned to the metric origin."""
    if not block_size_m > 0:
        raise ValueError(f"block_size_m must be positive, got {block_size_m!r}")
    xy = np.asarray(centres_m, dtype=float).reshape(-1, 2)
    return (np.floor(xy[:, 0] / block_size_m).astype(np.int64), np.floor(xy[:, 1] / block_size_m).astype(np.int64))


def pattern_counts(fractions: np.ndarray) -> np.ndarray:
    """Per-split counts of the checkerboard's period: the smallest good one, else the closest."""
    best, best_error = None, np.inf
    for period in range(1, _MAX_PERIOD + 1):
        exact = fractions * period
        counts = np.floor(exact).astype(int)
        for k in np.argsort(-(exact - counts), kind="stable")[: period - counts.sum()]:
            counts[k] += 1  # largest remainders
        error = np.max(np.abs(counts / period - fractions))
        if error <= _PERIOD_TOLERANCE:
            return counts
        if error < best_error - 1e-12:
            best, best_error = counts, error
    return best


def lattice_step(counts: np.ndarray) -> int:
    """The step s of ``sequence[(i + s j) % P]`` that keeps val and test blocks furthest apart.

    Scored on one P x P period: fewest edge-neighbour pairs of two non-train blocks, then the
    longest shortest vector of the lattice {(i, j): i + s j = 0 mod P} (so one position's blocks
    are evenly spread), then the smallest step.
    """
    period = int(np.sum(counts))
    if period <= 2:
        return 1
    sequence = pattern_sequence(counts)
    i, j = np.meshgrid(np.arange(period), np.arange(period), indexing="ij")
    best, best_score = 1, None
    for step in range(1, period):
        held = sequence[(i + step * j) % period] != 0
        touching = int(np.sum(held & np.roll(held, 1, 0)) + np.sum(held & np.roll(held, 1, 1)))
        shortest = min(
            math.hypot(a, b)
            for b in range(0, period + 1)
            for a in range(-period, period + 1)
            if (a, b) != (0, 0) and (a + step * b) % period == 0
        )
        score = (touching, -round(shortest, 9))
        if best_score is None or score < best_score:
            best, best_score = step, score
    return best


def pattern_sequence(counts: np.ndarray) -> np.ndarray:
    """One period of codes holding ``counts[k]`` of split k, each split spread evenly.

    Split k sits at positions (m + (k + 1) / 4) / counts[k], m = 0..counts[k]-1, merged in order:
    for (8, 1, 1) this is train x4, val, train x2, test, train x2.
    """
    positions = np.concatenate([(np.arange(c) + (k + 1) / (SPLITS + 1)) / c for k, c in enumerate(counts) if c])
    codes = np.concatenate([np.full(c, k, dtype=CODE_DTYPE) for k, c in enumerate(counts) if c])
    return codes[np.lexsort((codes, positions))]


def checkerboard_codes(i: np.ndarray, j: np.ndarray, fractions: np.ndarray, phase: int = 0) -> np.ndarray:
    """Codes of blocks (i, j) under the periodic pattern described in the module docstring."""
    counts = pattern_counts(fractions)
    period = int(counts.sum())
    step = lattice_step(counts)
    return pattern_sequence(counts)[(np.asarray(i) + step * np.asarray(j) + phase) % period]


def block_split(
    centres_m: np.ndarray,
    weights,
    fractions,
    block_size_m: float,
    assign: str = "random",
    seed: int = 0,
    candidates: int = 16,
) -> np.ndarray:
    """One code per chip: the code of the block holding its centre."""
    f = check_fractions(fractions)
    i, j = block_ij(centres_m, block_size_m)
    w = check_weights(weights, len(i))
    if assign not in ("random", "checkerboard"):
        raise ValueError(f"assign must be 'random' or 'checkerboard', got {assign!r}")
    if len(i) == 0:
        return empty_codes()
    rng = np.random.default_rng(seed)
    if assign == "checkerboard":
        period = int(pattern_counts(f).sum())
        return checkerboard_codes(i, j, f, int(rng.integers(period)))
    key = (i - i.min()) * (int(j.max() - j.min()) + 1) + (j - j.min())
    blocks, inverse = np.unique(key, return_inverse=True)
    block_weights = np.bincount(inverse, w, minlength=len(blocks))
    return assign_units(block_weights, f, rng, candidates)[inverse]
