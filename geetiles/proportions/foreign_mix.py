"""Label proportions of chips mixed from the coarser foreign units they overlap (``lp.from_foreign``).

Each chip gets the mix of its units' proportions weighted by overlap area in square metres (on the
ellipsoid, ``geetiles.areas``) times each unit's valid fraction, so a unit that is half nodata
speaks for half its area. geetiles 0.1.7 weighted by square degrees and ignored nodata. The chip's
``foreignid_{name}`` is the unit it overlaps most, as ``intersect`` gives it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.overlap import NONE, argmax_per_group, overlap_pairs
from geetiles.proportions.outcome import lonlat, require_identifiers
from geetiles.tiles.updates import TilesUpdates, updating

log = logging.getLogger(__name__)


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


def mix_from_foreign(
    tiles_path: Path, foreign_path: Path, dataset: str, updates: TilesUpdates | None = None
) -> tuple[str, str]:
    """Write ``{dataset}_proportions_at_{name}`` and ``foreignid_{name}`` into the tiles file: each
    chip's mix of its foreign units' proportions (area in m² × each unit's valid fraction)."""
    with updating(updates) as pending:
        return _mix_from_foreign(tiles_path, foreign_path, dataset, pending)


def _mix_from_foreign(tiles_path: Path, foreign_path: Path, dataset: str, updates: TilesUpdates) -> tuple[str, str]:
    from geetiles.names import foreign_name
    from geetiles.proportions.columns import (
        as_dicts,
        proportions_column,
        valid_frac_column,
    )
    from geetiles.tiles import load_tiles

    name = foreign_name(foreign_path)
    started = time.perf_counter()
    units = lonlat(load_tiles(foreign_path))
    source = proportions_column(dataset)
    if source not in units.columns:
        require_foreign_proportions(foreign_path, dataset)
    require_identifiers(units, foreign_path)
    chips = lonlat(updates.load(tiles_path))
    valid_frac = (
        units[valid_frac_column(dataset)].to_numpy(dtype=float) if valid_frac_column(dataset) in units.columns else None
    )
    keys, table, factor = unit_table(units[source].tolist(), valid_frac)
    mixed, reached, best = mix(np.asarray(chips.geometry.values), np.asarray(units.geometry.values), table, factor)
    column, id_column = f"{dataset}_proportions_at_{name}", f"foreignid_{name}"
    chips[column] = as_dicts(mixed, keys)
    ids = units["identifier"].astype(str).to_numpy()
    chips[id_column] = np.where(best >= 0, ids[np.maximum(best, 0)], "-1")
    computed = time.perf_counter()
    updates.save(chips, tiles_path)
    log.info(
        "proportions from %s: %d chips × %d units in %.2f s (written in %.2f s): %d outside every unit or only in "
        "units without valid labels → %s, %s",
        foreign_path.name,
        len(chips),
        len(units),
        computed - started,
        time.perf_counter() - computed,
        int((~reached).sum()),
        column,
        id_column,
    )
    return column, id_column


def has_proportions(path: Path, dataset: str) -> bool:
    from geetiles.proportions.columns import proportions_column
    from geetiles.tiles import load_tiles

    return proportions_column(dataset) in load_tiles(path).columns


def require_foreign_proportions(foreign_path: Path, dataset: str) -> None:
    from geetiles.proportions.columns import proportions_column

    if not has_proportions(foreign_path, dataset):
        raise UserInputError(
            f"foreign tiles file {foreign_path.name} has no {proportions_column(dataset)} column yet; compute "
            f"it first: geet lp.compute --tiles_file {foreign_path} --labels_dataset_def {dataset}"
        )
