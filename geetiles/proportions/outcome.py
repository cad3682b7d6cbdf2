"""What a proportions engine hands back, and how its counts become the tiles file's columns: shared by
the local engine (:mod:`geetiles.proportions.local`) and Earth Engine's
(:mod:`geetiles.proportions.earthengine`), so both write the same columns, records and log lines.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.tiles.updates import TilesUpdates

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    column: str
    chips: int
    failed: dict[str, str] = field(default_factory=dict)  # identifier → reason
    seconds: float = 0.0


def write_counts(chips, tiles_path: Path, table, counts, started: float, updates: TilesUpdates) -> Outcome:
    from geetiles.proportions.columns import (
        columns_from_counts,
        proportions_column,
        valid_frac_column,
    )
    from geetiles.tiles import LEGACY_LAYOUT_ATTR

    columns, wide = columns_from_counts(table.dataset, table.keys, counts.classes, counts.inside, counts.failed)
    for column, values in columns.items():
        chips[column] = values
    computed = time.perf_counter()
    if chips.attrs.get(LEGACY_LAYOUT_ATTR):  # 0.1.7 wrote the proportions alone: the valid fraction goes to the twin
        wide = [*wide, valid_frac_column(table.dataset)]
    updates.save(chips, tiles_path, twin_only=wide)
    identifiers = chips["identifier"].astype(str).to_numpy()
    outcome = Outcome(
        proportions_column(table.dataset),
        len(chips),
        {identifiers[row]: reason for row, reason in sorted(counts.failed.items())},
        time.perf_counter() - started,
    )
    unknown = counts.unknown.sum()
    if unknown > 0:
        log.warning(
            "proportions %s: %.0f pixels in %d chips hold values in no class of the dataset; they are left out "
            "like nodata (valid_frac counts them as invalid)",
            table.dataset,
            unknown,
            int((counts.unknown > 0).sum()),
        )
    valid = counts.classes.sum(axis=1)
    empty = int(((valid == 0) & ~np.isin(np.arange(len(chips)), list(counts.failed))).sum())
    log.info(
        "proportions %s: %d chips in %.2f s (written in %.2f s): %d without a valid pixel, %d failed → %s",
        table.dataset,
        len(chips),
        computed - started,
        time.perf_counter() - computed,
        empty,
        len(counts.failed),
        outcome.column,
    )
    return outcome


def require_identifiers(frame, path: Path) -> None:
    if "identifier" not in frame.columns:
        raise UserInputError(
            f"tiles file {path.name} has no 'identifier' column; give a tiles file made by geetiles (or geetiles 0.1.7)"
        )
    if not len(frame):
        raise UserInputError(f"tiles file {path.name} has no chips; nothing to compute")


def lonlat(frame):
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame
