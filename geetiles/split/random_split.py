"""Chip-by-chip random split: the baseline every geometric strategy is compared with.

Neighbouring chips land in different splits, so it leaks; it is here for comparison and for data
without spatial structure.
"""

from __future__ import annotations

import numpy as np

from geetiles.split.codes import CODE_DTYPE, check_fractions, check_weights, empty_codes


def cut_codes(ordered_weights: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Codes for items in the given order: cut the running weight at the target fractions.

    An item goes to the split whose share of the total holds the middle of the item, so each of
    the two cuts misses its target by at most half an item's weight.
    """
    w = np.asarray(ordered_weights, dtype=float)
    if len(w) == 0:
        return empty_codes()
    cum = np.cumsum(w, axis=-1)
    middle = cum - w / 2
    cuts = np.cumsum(fractions)[:2] * cum[..., -1:]
    codes = (middle >= cuts[..., :1]).astype(CODE_DTYPE) + (middle >= cuts[..., 1:2])
    return codes.astype(CODE_DTYPE)


def random_split(n: int, weights, fractions, seed: int = 0) -> np.ndarray:
    """One code per chip: a seeded shuffle, then the running weight cut at the fractions."""
    f = check_fractions(fractions)
    w = check_weights(weights, n)
    if n == 0:
        return empty_codes()
    order = np.random.default_rng(seed).permutation(n)
    codes = np.empty(n, dtype=CODE_DTYPE)
    codes[order] = cut_codes(w[order], f)
    return codes
