"""Split codes and the input checks every strategy shares.

A split is one int8 per chip, so a million chips cost a megabyte and every strategy, the guard gap
and the report speak the same language. GAP marks chips dropped to keep val and test away from
train; it belongs to no split.
"""

from __future__ import annotations

import numpy as np

TRAIN, VAL, TEST, GAP = 0, 1, 2, 3
NAMES = np.array(["train", "val", "test", "gap"])
CODE_DTYPE = np.int8
SPLITS = 3  # train, val, test: the codes a strategy deals; GAP only comes from the guard gap


def check_fractions(fractions) -> np.ndarray:
    """(train, val, test) as three non-negative floats summing to 1."""
    f = np.asarray(fractions, dtype=float).reshape(-1)
    if f.shape != (SPLITS,) or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError(f"fractions must be three non-negative numbers (train, val, test), got {fractions!r}")
    if abs(f.sum() - 1) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {fractions!r} (sum {f.sum():g})")
    return f / f.sum()


def check_weights(weights, n: int) -> np.ndarray:
    """Per-chip weights as floats; None means 1 per chip ("by count").

    All-zero weights (say, areas of degenerate chips) fall back to counting chips, so fractions
    stay meaningful instead of dividing by zero.
    """
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.shape != (n,):
        raise ValueError(f"weights must have one value per chip ({n}), got shape {np.shape(weights)}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if n and w.sum() <= 0:
        return np.ones(n)
    return w


def achieved_fractions(codes: np.ndarray, weights=None) -> np.ndarray:
    """Share of the train/val/test weight in each split; GAP chips are left out."""
    codes = np.asarray(codes)
    w = check_weights(weights, len(codes))
    keep = codes < SPLITS
    totals = np.bincount(codes[keep].astype(np.intp), w[keep], minlength=SPLITS)[:SPLITS]
    total = totals.sum()
    return totals / total if total > 0 else np.zeros(SPLITS)


def empty_codes() -> np.ndarray:
    return np.empty(0, dtype=CODE_DTYPE)
