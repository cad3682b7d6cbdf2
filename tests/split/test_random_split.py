"""The random split: the fractions met by chip count or by area, within half a chip at each cut."""

from __future__ import annotations

import numpy as np
import pytest

from geetiles.split.codes import TEST, TRAIN, VAL
from geetiles.split.random_split import random_split
from tests.split.synthetic import FRACTIONS, areas, worst_error


@pytest.mark.parametrize("by_area", [False, True])
def test_random_split_fractions(by_area):
    n = 5000
    w = areas(n) if by_area else None
    codes = random_split(n, w, FRACTIONS, seed=3)
    assert codes.dtype == np.int8 and set(np.unique(codes)) == {TRAIN, VAL, TEST}
    largest = (w.max() / w.sum()) if by_area else 1 / n
    assert worst_error(codes, w) <= largest  # two cuts, each off by at most half a chip
