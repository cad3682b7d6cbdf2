"""What every split strategy shares: the same seed gives the same codes and another seed other codes, and
empty input gives empty codes.

All data is small, seeded and made here (``synthetic``)."""

from __future__ import annotations

import numpy as np

from geetiles.split.bands import band_split
from geetiles.split.blocks import block_split
from geetiles.split.codes import NAMES
from geetiles.split.gap import guard_gap, leakage_distances
from geetiles.split.groups import group_by, group_split
from geetiles.split.metric import chip_centres
from geetiles.split.random_split import random_split
from tests.split.synthetic import FRACTIONS, areas, jittered_grid


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
