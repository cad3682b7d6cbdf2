"""Small seeded chip layouts shared by the split strategy tests: chip centres in metres, chip areas, and
how far the achieved fractions fall from the requested ones."""

from __future__ import annotations

import numpy as np

from geetiles.split.codes import achieved_fractions

FRACTIONS = (0.7, 0.15, 0.15)


def jittered_grid(nx: int, ny: int, spacing: float = 100.0, seed: int = 0) -> np.ndarray:
    """Centres of an nx x ny grid of chips, each nudged a little, in metres."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    xy = np.column_stack([i.ravel(), j.ravel()]) * spacing - [nx * spacing / 2, ny * spacing / 2]
    return xy + np.random.default_rng(seed).uniform(-spacing / 10, spacing / 10, xy.shape)


def areas(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


def worst_error(codes, weights, fractions=FRACTIONS) -> float:
    return float(np.max(np.abs(achieved_fractions(codes, weights) - np.asarray(fractions))))
