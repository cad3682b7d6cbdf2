"""``split=legacy``: geetiles 0.1.7's ``geet split``, chip for chip, computed on arrays.

This reimplements ``PartitionSet.split`` and ``PartitionSet.split_per_partitions`` of the original
(``partitions.py``), quirks included, with the same IEEE operations in the same order, so that the
same tiles give the same ``split`` (and ``split_{name}``) values:

- each chip's point is ``np.r_[g.envelope.boundary.coords].mean(axis=0)``: the mean of the five
  points of its envelope ring (minx,miny) (maxx,miny) (maxx,maxy) (minx,maxy) (minx,miny), the
  first one counted twice, summed left to right and divided by 5 (so it is pulled towards the
  south-west corner: x = (3·minx + 2·maxx)/5, y = (3·miny + 2·maxy)/5);
- the points are normalised to [0, 1] by the min/max over all chips (a zero range becomes 1) and,
  for a negative angle, flipped (1 - x, 1 - y);
- direction weights are piecewise linear in the angle, not trigonometric: plon = |angle|/(pi/4),
  plat = 1 when |angle| < pi/4, else plon = sign(angle), plat = (pi/2 - |angle|)/(pi/4);
- band ids are ``((plon·x + plat·y) / (k/nbands)).astype(int)``: a truncation towards zero, not a
  floor. For angle <= -pi/4 (plon = -1) the sum is negative for part of the chips, so the band
  around zero spans (-w, w), twice the width of the others. (The flip and plon = -1 cancel on x:
  -(1 - x) = x - 1, so -pi/2 orders bands west to east just like +pi/2, apart from that band);
- k runs over ``linspace(0.1, 50, 10000)``, and the first k whose band ids take exactly ``nbands``
  distinct values wins; if no k does, the last one (50) is used without a word;
- only bands holding at least one chip count: the pattern below is laid over the sorted distinct
  band ids, so an empty band (a hole in the AOI) does not consume a slot of the pattern, and the
  band span can exceed nbands;
- the pattern is ``[train]*n_train + [test]*n_test + [val]*n_val`` with
  ``n_x = int(np.round(x_pct / min_nonzero_pct))`` (numpy banker's rounding, seeing float error:
  0.5/0.2 = 2.5 -> 2, 0.3/0.2 = 1.4999... -> 1), repeated and cut to the number of bands;
- ``split_{name}`` is the most frequent split within each ``foreignid_{name}`` group (pandas
  ``value_counts().index[0]``): a tie goes to the tied value met first in row order within the
  group; all chips with foreignid "-1" (no foreign tile) vote as one group.

Validation follows the original's order and wording (angle, then the pcts sum, then the band
count), raised as :class:`UserInputError` with the fix appended. Two inputs the original accepted
and mishandled are refused as well: a NaN angle (it passed the range check and gave garbage) and
negative percentages (they gave negative band counts).
"""

from __future__ import annotations

import math
import operator

import numpy as np
import shapely

from geetiles.errors import UserInputError
from geetiles.numbers import require_finite

#: The original's search range for the band width factor k, as numpy computes it.
K_VALUES = np.linspace(0.1, 50, 10000)
_CHUNK_CELLS = 4_000_000  # k values x chips per vectorised step of the k search (~32 MB of ids)


def band_counts(nbands: int, angle: float, train_pct: float, test_pct: float, val_pct: float) -> tuple[int, int, int]:
    """Validate as the original did (same order, same wording) and return (n_train, n_test, n_val),
    the number of bands of each kind in one repetition of the pattern."""
    try:
        nbands = operator.index(nbands)
    except TypeError:
        raise UserInputError(f"nbands={nbands!r} must be a whole number of bands, e.g. nbands=8") from None
    angle = float(angle)
    if math.isnan(angle) or angle < -np.pi / 2 or angle > np.pi / 2:
        raise UserInputError(
            f"angle must be between -pi/2 and pi/2 (got {angle:g}); give it in radians, "
            "e.g. 0.785 for bands at 45 degrees or 0 for bands stacked south to north"
        )
    pcts = (train_pct, test_pct, val_pct)
    for key, pct in zip(("train_pct", "test_pct", "val_pct"), pcts):
        require_finite(key, float(pct), "give shares between 0 and 1 summing to 1")
    if not np.allclose(train_pct + test_pct + val_pct, 1, atol=1e-3):
        raise UserInputError(
            f"percentages must add up to one: train_pct + test_pct + val_pct = "
            f"{train_pct} + {test_pct} + {val_pct} = {train_pct + test_pct + val_pct:g}; "
            "change them so they sum to 1 (within 0.001)"
        )
    if any(p < 0 for p in pcts):
        raise UserInputError(
            f"percentages cannot be negative (train {train_pct}, test {test_pct}, val {val_pct}); "
            "give shares between 0 and 1 summing to 1"
        )
    min_pct = np.min([p for p in pcts if p != 0])
    n_train, n_test, n_val = (int(np.round(p / min_pct, 0)) for p in pcts)
    needed = n_train + n_test + n_val
    if needed > nbands:
        raise UserInputError(
            f"not enough bands for specified percentages. increase nbands to at least {needed} "
            f"(got nbands={nbands}; the percentages {train_pct}/{test_pct}/{val_pct} need "
            f"{n_train} train + {n_test} test + {n_val} val bands), or use percentages with "
            "simpler ratios"
        )
    return n_train, n_test, n_val


def chip_points(geometry: np.ndarray) -> np.ndarray:
    """(n, 2): the original's point per chip, the mean of the five points of its envelope ring."""
    geometry = np.asarray(geometry, dtype=object)
    bad = np.flatnonzero(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    if bad.size:
        raise UserInputError(
            f"{bad.size} chip(s) have no geometry (first at row {bad[0]}); "
            "split=legacy needs a polygon per chip: remove those rows or redo the tiling"
        )
    b = shapely.bounds(geometry)
    minx, miny, maxx, maxy = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    # np.mean over the ring (axis 0 of a (5, 2) array) adds the points in order, then divides by 5
    x = ((((minx + maxx) + maxx) + minx) + minx) / 5
    y = ((((miny + miny) + maxy) + maxy) + miny) / 5
    return np.column_stack([x, y])


def _weights(angle: float) -> tuple[float, float]:
    if np.abs(angle) < np.pi / 4:
        return np.abs(angle) / (np.pi / 4), 1
    return np.sign(angle), (np.pi / 2 - np.abs(angle)) / (np.pi / 4)


def _distinct_per_row(ids: np.ndarray) -> np.ndarray:
    ordered = np.sort(ids, axis=1)
    return 1 + np.count_nonzero(np.diff(ordered, axis=1), axis=1)


def band_ids(points: np.ndarray, nbands: int, angle: float) -> np.ndarray:
    """The original's band id per chip (shifted so that the smallest is 0), after its k search."""
    cmin = points.min(axis=0)
    cmax = points.max(axis=0)
    crng = cmax - cmin
    crng[crng == 0] = 1
    ncoords = (points - cmin) / crng
    if angle < 0:
        ncoords = 1 - ncoords
    plon, plat = _weights(angle)
    position = plon * ncoords[:, 0] + plat * ncoords[:, 1]

    chosen = len(K_VALUES) - 1  # no k gives nbands bands: the original silently keeps the last one
    chunk = max(1, min(256, _CHUNK_CELLS // len(position)))
    for start in range(0, len(K_VALUES), chunk):
        ks = K_VALUES[start : start + chunk]
        ids = (position[None, :] / (ks[:, None] / nbands)).astype(np.int64)
        hits = np.flatnonzero(_distinct_per_row(ids) == nbands)
        if hits.size:
            chosen = start + int(hits[0])
            break
    ids = (position / (K_VALUES[chosen] / nbands)).astype(np.int64)
    return ids - ids.min()


def legacy_split(
    geometry: np.ndarray, nbands: int, angle: float, train_pct: float, test_pct: float, val_pct: float
) -> np.ndarray:
    """geetiles 0.1.7's ``split`` column: "train", "test" or "val" per chip, in row order.

    geometry: the chips' lon/lat polygons (EPSG:4326), in the tiles file's row order.
    """
    n_train, n_test, n_val = band_counts(nbands, angle, train_pct, test_pct, val_pct)
    angle = float(angle)
    geometry = np.asarray(geometry, dtype=object)
    if len(geometry) == 0:
        return np.empty(0, dtype=object)
    ids = band_ids(chip_points(geometry), operator.index(nbands), angle)
    distinct, rank = np.unique(ids, return_inverse=True)
    pattern = np.array(["train"] * n_train + ["test"] * n_test + ["val"] * n_val, dtype=object)
    return pattern[rank.reshape(-1) % len(pattern)]


def majority_by_group(split: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """geetiles 0.1.7's ``split_{name}``: each chip gets the most frequent ``split`` value of its group.

    Values and groups are compared as strings (a foreignid of -1 and "-1" are the same group; all
    chips without a foreign tile vote together, as in the original). A tie goes to the tied value
    that occurs first in row order within the group. Chips whose group is missing (None or NaN:
    pandas' groupby drops them) get None.
    """
    split = np.asarray(split, dtype=object)
    groups = np.asarray(groups, dtype=object)
    if split.shape != groups.shape or split.ndim != 1:
        raise ValueError(f"split and groups must be 1-d and of the same length, got {split.shape} and {groups.shape}")
    result = np.full(len(split), None, dtype=object)
    present = np.array([not (g is None or (isinstance(g, float) and math.isnan(g))) for g in groups], dtype=bool)
    if not present.any():
        return result
    rows = np.flatnonzero(present)
    group_keys = groups[present].astype(str)
    values = split[present].astype(str)
    _, group = np.unique(group_keys, return_inverse=True)
    labels, value = np.unique(values, return_inverse=True)
    labels = labels.astype(object)  # Python str, not np.str_
    group, value = group.reshape(-1), value.reshape(-1)
    shape = (int(group.max()) + 1, len(labels))
    counts = np.zeros(shape, dtype=np.int64)
    np.add.at(counts, (group, value), 1)
    first = np.full(shape, len(rows), dtype=np.int64)
    np.minimum.at(first, (group, value), np.arange(len(rows)))
    # among the most frequent values of a group, the one seen first
    tied_first = np.where(counts == counts.max(axis=1, keepdims=True), first, len(rows))
    winner = labels[np.argmin(tied_first, axis=1)]
    result[rows] = winner[group]
    return result
