"""The guard gap: val and test chips too close to another split become GAP, and how close they are.

Rule, applied after any strategy: no val or test chip may lie within ``buffer_m`` (polygon to
polygon, metres) of a chip of another split. Close pairs are resolved by priority
train > val > test: train chips never change; a val chip within the buffer of a train chip becomes
GAP; then a test chip within the buffer of a train chip or of a remaining val chip becomes GAP.
"Within" includes the buffer itself, so what is left is strictly further apart than ``buffer_m``.

How, for a million chips in seconds: an STRtree over the other split's chips, and for each chip
the candidates in order of envelope distance (a lower bound of the polygon distance), so one or
two exact GEOS distances usually settle a chip, where a ``dwithin`` query would compute one for
each of the hundreds of chips within a 1 km buffer. Candidates come in rings of growing radius
(0, buffer / 8, / 4, / 2, buffer) and chunks of chips, so few pairs are held at once, and an
occupancy grid first drops every chip with no chip of the other split anywhere near. No Python
loop runs over chips.
"""

from __future__ import annotations

import numpy as np
import shapely

from geetiles.split.codes import CODE_DTYPE, GAP, TEST, TRAIN, VAL

_GRID_CELLS = 2048  # at most this many occupancy cells along each axis
_RINGS = 4  # candidate rings of radius 0, cap/8, cap/4, cap/2, cap
_ROUNDS = 3  # nearest-candidate rounds done for all chips at once, before sorting the rest
_CHUNK = 65_536  # chips per tree query, to bound the memory of candidate pairs
_SLACK = 1e-9  # relative and absolute, so float rounding never drops a pair at exactly the buffer


def _typical_size(bounds: np.ndarray) -> float:
    step = max(1, len(bounds) // 10_000)
    sample = bounds[::step]
    return float(np.median(np.maximum(sample[:, 2] - sample[:, 0], sample[:, 3] - sample[:, 1])))


def _may_reach(probe: np.ndarray, other: np.ndarray, reach: float) -> np.ndarray:
    """False where an envelope of ``probe`` is certainly further than ``reach`` from all of ``other``.

    Rasterises the envelopes of ``other`` on a grid (cells of reach / 8 or a chip, at most 2048
    along a side), and looks up each probe's envelope grown by ``reach`` in a summed-area table.
    """
    if len(probe) == 0 or len(other) == 0:
        return np.zeros(len(probe), dtype=bool)
    reach = reach * (1 + _SLACK) + _SLACK
    lo = np.minimum(probe[:, :2].min(axis=0), other[:, :2].min(axis=0)) - reach
    hi = np.maximum(probe[:, 2:].max(axis=0), other[:, 2:].max(axis=0)) + reach
    cell = max(reach / 8, _typical_size(other), float(np.max(hi - lo)) / _GRID_CELLS, 1e-9)
    nx, ny = (np.floor((hi - lo) / cell).astype(np.int64) + 1).tolist()

    def cells(b: np.ndarray, grow: float):
        i0 = np.clip(np.floor((b[:, 0] - grow - lo[0]) / cell).astype(np.int64), 0, nx - 1)
        j0 = np.clip(np.floor((b[:, 1] - grow - lo[1]) / cell).astype(np.int64), 0, ny - 1)
        i1 = np.clip(np.floor((b[:, 2] + grow - lo[0]) / cell).astype(np.int64), 0, nx - 1)
        j1 = np.clip(np.floor((b[:, 3] + grow - lo[1]) / cell).astype(np.int64), 0, ny - 1)
        return i0, j0, i1, j1

    i0, j0, i1, j1 = cells(other, 0.0)
    width = ny + 1
    corners = np.concatenate([i0 * width + j0, (i1 + 1) * width + j0, i0 * width + j1 + 1, (i1 + 1) * width + j1 + 1])
    signs = np.concatenate([np.ones(len(i0)), -np.ones(len(i0)), -np.ones(len(i0)), np.ones(len(i0))])
    cover = np.bincount(corners, signs, minlength=(nx + 1) * width).reshape(nx + 1, width)
    occupied = np.cumsum(np.cumsum(cover, axis=0), axis=1)[:nx, :ny] > 0.5
    table = np.zeros((nx + 1, ny + 1), dtype=np.int32)  # at most 2049^2 cells: fits
    table[1:, 1:] = np.cumsum(np.cumsum(occupied, axis=0, dtype=np.int32), axis=1, dtype=np.int32)
    i0, j0, i1, j1 = cells(probe, reach)
    count = table[i1 + 1, j1 + 1] - table[i0, j1 + 1] - table[i1 + 1, j0] + table[i0, j0]
    return count > 0


def nearest_within(
    geoms: np.ndarray, bounds: np.ndarray, queries: np.ndarray, targets: np.ndarray, cap: float, stop: float = 0.0
) -> np.ndarray:
    """Exact distance from each query chip to its nearest target chip where that is <= ``cap``, else inf.

    ``geoms``/``bounds`` hold all chips; ``queries`` and ``targets`` index into them. A query is
    settled once a target within ``stop`` is found: then its value is some distance <= ``stop``,
    not necessarily the least (enough to answer "is any target within stop?").
    """
    best = np.full(len(queries), np.inf)
    if len(queries) == 0 or len(targets) == 0 or not cap >= 0:
        return best
    finite = np.all(np.isfinite(bounds), axis=1)  # empty geometries are near nothing
    targets = targets[finite[targets]]
    q_bounds, t_bounds = bounds[queries], bounds[targets]
    live = finite[queries]
    live[live] = _may_reach(q_bounds[live], t_bounds, cap)
    keep_targets = _may_reach(t_bounds, q_bounds[live], cap)
    targets, t_bounds = targets[keep_targets], t_bounds[keep_targets]
    if len(targets) == 0:
        return best
    search = _Search(geoms, queries, q_bounds, targets, t_bounds, best, stop)
    pending = np.flatnonzero(live)
    previous = -1.0
    for radius in sorted({0.0, *(cap / 2**k for k in range(_RINGS)), float(cap)}):
        if len(pending) == 0:
            break
        for start in range(0, len(pending), _CHUNK):
            search.ring(pending[start : start + _CHUNK], previous, radius)
        settled = (best[pending] <= stop) | (best[pending] <= radius)
        pending = pending[~settled]
        previous = _grown(radius)
    best[best > cap] = np.inf
    return best


def _grown(radius: float) -> float:
    return radius * (1 + _SLACK) + _SLACK


class _Search:
    """One nearest-target search: the tree over the targets and the best distance per query."""

    def __init__(self, geoms, queries, q_bounds, targets, t_bounds, best, stop):
        self.geoms, self.queries, self.q_bounds = geoms, queries, q_bounds
        self.targets, self.t_bounds = targets, t_bounds
        self.tree = shapely.STRtree(geoms[targets])
        self.best, self.stop = best, stop

    def ring(self, chips: np.ndarray, inner: float, radius: float) -> None:
        """Improve ``best`` of ``chips`` with the targets whose envelopes lie in (inner, radius]."""
        pb = self.q_bounds[chips]
        if radius == 0.0:
            probes = self.geoms[self.queries[chips]]  # envelope against envelope: no boxes to build
        else:
            grow = _grown(radius)
            probes = shapely.box(pb[:, 0] - grow, pb[:, 1] - grow, pb[:, 2] + grow, pb[:, 3] + grow)
        qi, ti = self.tree.query(probes)  # grouped by probe, in probe order
        tb = self.t_bounds
        dx = np.maximum(np.maximum(pb[qi, 0] - tb[ti, 2], tb[ti, 0] - pb[qi, 2]), 0.0)
        dy = np.maximum(np.maximum(pb[qi, 1] - tb[ti, 3], tb[ti, 1] - pb[qi, 3]), 0.0)
        e = np.hypot(dx, dy)
        del dx, dy
        keep = (e > inner) & (e <= _grown(radius)) & (e < self.best[chips[qi]])
        qi, ti, e = qi[keep], ti[keep], e[keep]
        for _ in range(_ROUNDS):  # each round: every chip's nearest candidate by envelope, at once
            if len(qi) == 0:
                return
            first = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
            least = np.minimum.reduceat(e, first)
            hit = np.flatnonzero(e == np.repeat(least, np.diff(np.r_[first, len(qi)])))
            pick = hit[np.r_[True, qi[hit][1:] != qi[hit][:-1]]]
            self._measure(chips[qi[pick]], ti[pick])
            e[pick] = np.inf
            now = self.best[chips[qi]]
            keep = (e < now) & (now > self.stop)
            qi, ti, e = qi[keep], ti[keep], e[keep]
        if len(qi) == 0:
            return
        order = np.lexsort((e, qi))  # the few chips left: walk their candidates in order
        qi, ti, e = qi[order], ti[order], e[order]
        slots = np.unique(qi)
        pointer, end = np.searchsorted(qi, slots), np.searchsorted(qi, slots, side="right")
        while True:
            chip = chips[slots]
            open_ = pointer < end
            open_[open_] = (e[pointer[open_]] < self.best[chip[open_]]) & (self.best[chip[open_]] > self.stop)
            if not open_.any():
                return
            self._measure(chip[open_], ti[pointer[open_]])
            pointer[open_] += 1

    def _measure(self, chips: np.ndarray, target_slots: np.ndarray) -> None:
        d = shapely.distance(self.geoms[self.queries[chips]], self.geoms[self.targets[target_slots]])
        self.best[chips] = np.fmin(self.best[chips], d)


def guard_gap(geometry_m: np.ndarray, codes: np.ndarray, buffer_m: float | None) -> np.ndarray:
    """Codes with val/test chips within ``buffer_m`` of another split turned into GAP (see module).

    ``buffer_m`` None leaves the codes as they are; 0 separates chips that touch or overlap.
    """
    codes = np.asarray(codes).astype(CODE_DTYPE, copy=True)
    if buffer_m is None or len(codes) == 0:
        return codes
    if not buffer_m >= 0:
        raise ValueError(f"buffer_m must be >= 0, got {buffer_m!r}")
    geoms = np.asarray(geometry_m, dtype=object).reshape(-1)
    if len(geoms) != len(codes):
        raise ValueError("geometry_m and codes must have one entry per chip")
    bounds = shapely.bounds(geoms)
    train = np.flatnonzero(codes == TRAIN)
    held = np.flatnonzero((codes == VAL) | (codes == TEST))
    codes[held[nearest_within(geoms, bounds, held, train, buffer_m, buffer_m) <= buffer_m]] = GAP
    val, test = np.flatnonzero(codes == VAL), np.flatnonzero(codes == TEST)
    codes[test[nearest_within(geoms, bounds, test, val, buffer_m, buffer_m) <= buffer_m]] = GAP
    return codes


def leakage_distances(
    geometry_m: np.ndarray, codes: np.ndarray, buffer_m: float = 0.0, sample: int = 5_000, seed: int = 0
) -> dict:
    """How far val and test chips are from the nearest train chip (polygon distance, metres).

    ``min_m`` and both shares are exact over all val/test chips; ``p5_m`` and ``median_m`` are
    over all of them too up to ``sample`` chips, else over a seeded random sample of that many
    (``measured`` says how many). ``share_touching``: at distance 0 (sharing an edge or
    overlapping); ``share_within_buffer``: at most ``buffer_m`` away. Values are None where there
    is nothing to measure (no train or no val/test chips).
    """
    codes = np.asarray(codes)
    geoms = np.asarray(geometry_m, dtype=object).reshape(-1)
    train = np.flatnonzero(codes == TRAIN)
    held = np.flatnonzero((codes == VAL) | (codes == TEST))
    report = {
        "buffer_m": float(buffer_m),
        "train": int(len(train)),
        "val_test": int(len(held)),
        "measured": 0,
        "min_m": None,
        "p5_m": None,
        "median_m": None,
        "share_touching": None,
        "share_within_buffer": None,
    }
    if len(train) == 0 or len(held) == 0:
        return report
    bounds = shapely.bounds(geoms)
    picked = (
        held if len(held) <= sample else np.sort(np.random.default_rng(seed).choice(held, size=sample, replace=False))
    )
    (inputs, _), found = shapely.STRtree(geoms[train]).query_nearest(
        geoms[picked], all_matches=False, return_distance=True
    )
    distances = np.full(len(picked), np.inf)
    distances[inputs] = found
    distances = distances[np.isfinite(distances)]
    least = float(distances.min()) if len(distances) else np.inf
    # exact over all chips: all within the buffer and, if sampled, all nearer than the sample's least
    cap = float(buffer_m)
    if len(picked) < len(held) and np.isfinite(least):
        cap = max(cap, least)
    near = nearest_within(geoms, bounds, held, train, cap)
    report["share_touching"] = float(np.mean(near <= 0))
    report["share_within_buffer"] = float(np.mean(near <= buffer_m))
    if len(distances):
        report.update(
            measured=int(len(distances)),
            min_m=min(least, float(near.min())),
            p5_m=float(np.percentile(distances, 5)),
            median_m=float(np.median(distances)),
        )
    return report
