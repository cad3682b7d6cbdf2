"""Whole groups (foreign units, bands, blocks) dealt into splits by chip weight.

A group never straddles two splits, so chips of one commune or one block cannot leak into each
other. The dealing helpers here are shared by the band and block strategies, which are groups too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geetiles.split.codes import CODE_DTYPE, GAP, SPLITS, check_fractions, check_weights, empty_codes
from geetiles.split.random_split import cut_codes

_MAX_ROUNDS = 200  # local-search steps in refine(); each moves or swaps one or two units
_CLOSE_ENOUGH = 1e-6  # distance to the target fractions below which more candidates are not tried


def factorize(groups) -> tuple[np.ndarray, int]:
    """Dense group numbers 0..m-1 for any labels (strings, ints, None), sorted where sortable.

    Sorting makes the numbers, and so the seeded assignment, independent of the chips' order.
    Missing labels (None, NaN) form one group of their own.
    """
    values = groups.to_numpy() if isinstance(groups, pd.Series) else groups
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError("groups must be one label per chip")
    if not isinstance(values, np.ndarray):
        values = pd.array(list(values), dtype=object) if len(values) else np.empty(0, dtype=object)
    try:
        inverse, uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
    except TypeError:  # labels of mixed, unorderable types
        inverse, uniques = pd.factorize(values, sort=False, use_na_sentinel=False)
    return inverse.astype(np.intp), len(uniques)


def distance_to_targets(unit_weights: np.ndarray, codes: np.ndarray, fractions: np.ndarray) -> float:
    """Euclidean distance between achieved and target (train, val, test) weight shares."""
    total = unit_weights.sum()
    if total <= 0:
        return 0.0
    achieved = np.bincount(codes, unit_weights, minlength=SPLITS)[:SPLITS] / total
    return float(np.sqrt(np.sum((achieved - fractions) ** 2)))


def refine(unit_weights: np.ndarray, codes: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Move or swap single units between splits while that brings the weights nearer the targets.

    Greedy local search on the sum of squared weight errors: each step takes the best of all
    single moves and all pairwise swaps (found by binary search on sorted weights, so a step is
    O(m log m)). It fixes the last few percent a cut or a stride leaves when units are coarse.
    """
    w = np.asarray(unit_weights, dtype=float)
    codes = codes.astype(CODE_DTYPE, copy=True)
    total = w.sum()
    if len(w) < 2 or total <= 0:
        return codes
    target = fractions * total
    achieved = np.bincount(codes, w, minlength=SPLITS)[:SPLITS]
    tolerance = 1e-12 * total * total
    for _ in range(_MAX_ROUNDS):
        e = achieved - target
        best_gain, action = -tolerance, None
        for source in range(SPLITS):
            members = np.flatnonzero(codes == source)
            if len(members) == 0:
                continue
            wm = w[members]
            for dest in range(SPLITS):
                if dest == source:
                    continue
                gains = 2 * wm * (e[dest] - e[source]) + 2 * wm * wm  # change of sum(e**2)
                i = int(np.argmin(gains))
                if gains[i] < best_gain:
                    best_gain, action = gains[i], ((members[i], dest),)
                if dest < source:
                    continue
                others = np.flatnonzero(codes == dest)
                if len(others) == 0:
                    continue
                order = np.argsort(w[others], kind="stable")
                wo = w[others][order]
                wanted = wm - (e[source] - e[dest]) / 2  # the other's weight that would be ideal
                pos = np.searchsorted(wo, wanted)
                for cand in (np.clip(pos - 1, 0, len(wo) - 1), np.clip(pos, 0, len(wo) - 1)):
                    delta = wm - wo[cand]
                    gains = 2 * delta * (e[dest] - e[source]) + 2 * delta * delta
                    i = int(np.argmin(gains))
                    if gains[i] < best_gain:
                        j = others[order[cand[i]]]
                        best_gain, action = gains[i], ((members[i], dest), (j, source))
        if action is None:
            break
        for unit, dest in action:
            achieved[codes[unit]] -= w[unit]
            achieved[dest] += w[unit]
            codes[unit] = dest
    return codes


def assign_units(
    unit_weights: np.ndarray, fractions: np.ndarray, rng: np.random.Generator, candidates: int = 16
) -> np.ndarray:
    """Codes for unordered units: best of ``candidates`` seeded random deals.

    Each candidate shuffles the units, cuts the running weight at the fractions and refines; the
    one nearest the targets wins (the first on ties; the search stops early once a candidate is
    within 1e-6 of the targets). Shuffling keeps the assignment spatially random; the cut and the
    refinement make it balanced by weight, not by unit count.
    """
    w = np.asarray(unit_weights, dtype=float)
    if len(w) == 0:
        return empty_codes()
    best, best_score = None, np.inf
    for _ in range(max(1, int(candidates))):
        order = rng.permutation(len(w))
        codes = np.empty(len(w), dtype=CODE_DTYPE)
        codes[order] = cut_codes(w[order], fractions)
        codes = refine(w, codes, fractions)
        score = distance_to_targets(w, codes, fractions)
        if score < best_score - 1e-15:
            best, best_score = codes, score
        if best_score <= _CLOSE_ENOUGH:  # many small units: no candidate can do visibly better
            break
    return best


def stride_codes(unit_weights: np.ndarray, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Codes for ordered units (bands): each unit to the split furthest below its running target.

    Like stride scheduling: after the first c weight, split k should hold f_k * c; the next unit
    goes to the split with the largest shortfall. With 70/15/15 and equal bands this gives
    tr tr va tr tr te tr tr tr va tr te tr ..., every split spread evenly along the order, so each
    samples the whole AOI. The seed sets the pattern's phase (each split starts behind by a random
    part of its share of one mean unit) and breaks exact ties.
    """
    w = [float(x) for x in np.asarray(unit_weights, dtype=float)]
    if not w:
        return empty_codes()
    f = [float(x) for x in fractions]
    mean = sum(w) / len(w)
    held = [-u * fk * mean for u, fk in zip(rng.random(SPLITS), f)]
    priority = [float(p) * 1e-9 for p in rng.permutation(SPLITS)]  # tie-break only
    codes = np.empty(len(w), dtype=CODE_DTYPE)
    seen = 0.0
    for i, wi in enumerate(w):
        seen += wi
        scale = max(seen, 1e-300)
        shortfall = [(f[k] * seen - held[k]) / scale + (priority[k] if f[k] > 0 else -1.0) for k in range(SPLITS)]
        k = max(range(SPLITS), key=shortfall.__getitem__)
        held[k] += wi
        codes[i] = k
    return codes


def group_split(groups, weights, fractions, seed: int = 0, candidates: int = 16) -> np.ndarray:
    """One code per chip with every group entirely in one split, fractions met by chip weight."""
    f = check_fractions(fractions)
    w = check_weights(weights, len(groups))
    if len(groups) == 0:
        return empty_codes()
    inverse, m = factorize(groups)
    unit_weights = np.bincount(inverse, w, minlength=m)
    unit_codes = assign_units(unit_weights, f, np.random.default_rng(seed), candidates)
    return unit_codes[inverse]


def group_by(codes: np.ndarray, groups, weights=None) -> np.ndarray:
    """Make any split group-consistent: each group takes the split holding most of its weight.

    Ties go to the lower code (train before val before test); a group whose chips carry no weight
    votes by chip count; a group entirely in GAP stays GAP.
    """
    codes = np.asarray(codes)
    if len(groups) != len(codes):
        raise ValueError("groups must have one label per chip")
    if len(codes) == 0:
        return empty_codes()
    w = check_weights(weights, len(codes))
    inverse, m = factorize(groups)
    dealt = codes < SPLITS
    index = inverse[dealt] * SPLITS + codes[dealt].astype(np.intp)
    votes = np.bincount(index, w[dealt], minlength=m * SPLITS).reshape(m, SPLITS)
    counts = np.bincount(index, minlength=m * SPLITS).reshape(m, SPLITS)
    weightless = votes.sum(axis=1) <= 0
    votes[weightless] = counts[weightless]
    winner = np.argmax(votes, axis=1).astype(CODE_DTYPE)
    winner[counts.sum(axis=1) == 0] = GAP
    return winner[inverse]
