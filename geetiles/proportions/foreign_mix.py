"""Label proportions of chips mixed from the coarser foreign units they overlap (``lp.from_foreign``).

Each chip gets the mix of its units' proportions weighted by overlap area in square metres (on the
ellipsoid, ``geetiles.areas``) times each unit's valid fraction, so a unit that is half nodata
speaks for half its area. geetiles 0.1.7 weighted by square degrees and ignored nodata. The chip's
``foreignid_{name}`` is the unit it overlaps most, as ``intersect`` gives it.
"""

from __future__ import annotations

import numpy as np

from geetiles.overlap import NONE, argmax_per_group, overlap_pairs


def unit_table(proportions: list, valid_frac: np.ndarray | None) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The units' proportions as a (units, keys) array, the keys (sorted as numbers where they are),
    and each unit's weight factor (its valid fraction; 0 for a unit without proportions)."""
    usable = [p if isinstance(p, dict) else None for p in proportions]
    keys = sorted({k for p in usable if p for k in p}, key=_key_order)
    column = {k: i for i, k in enumerate(keys)}
    table = np.zeros((len(usable), len(keys)))
    for row, p in enumerate(usable):
        for k, v in (p or {}).items():
            table[row, column[k]] = float(v)
    factor = np.ones(len(usable)) if valid_frac is None else np.nan_to_num(np.asarray(valid_frac, dtype=float), nan=0.0)
    factor[[p is None for p in usable]] = 0.0
    return tuple(keys), table, factor


def _key_order(key: str):
    return (0, float(key), key) if key.lstrip("-").replace(".", "", 1).isdigit() else (1, 0.0, key)


def mix(
    chips: np.ndarray, units: np.ndarray, table: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every chip: its mixed shares (chips, keys), whether any weight reached it, and the row of
    the unit it overlaps most (-1 for none)."""
    mixed = np.zeros((len(chips), table.shape[1]))
    weight_sum = np.zeros(len(chips))
    best = np.full(len(chips), NONE, dtype=np.int64)
    for chip_rows, unit_rows, areas in overlap_pairs(chips, units):
        single = np.isnan(areas)
        best[chip_rows[single]] = unit_rows[single]
        if (~single).any():
            rows, winners = argmax_per_group(chip_rows[~single], unit_rows[~single], np.round(areas[~single], 2))
            best[rows] = winners
        weights = np.where(single, 1.0, areas) * factor[unit_rows]  # a chip's only unit: any positive area
        np.add.at(mixed, chip_rows, table[unit_rows] * weights[:, None])
        np.add.at(weight_sum, chip_rows, weights)
    reached = weight_sum > 0
    mixed[reached] /= weight_sum[reached, None]
    return mixed, reached, best
