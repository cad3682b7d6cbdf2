"""``proportions=local`` (and ``geet lp.compute``): every downloaded label chip's classes counted on this
machine, written into the tiles file."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from geetiles.proportions.outcome import Outcome, lonlat, require_identifiers, write_counts
from geetiles.tiles.updates import TilesUpdates, updating


def compute_file(
    tiles_path: Path,
    folder: Path,
    definition: str | None = None,
    workers: int | None = None,
    progress_mode: str = "auto",
    updates: TilesUpdates | None = None,
) -> Outcome:
    """Count every chip's classes in ``folder`` and write the proportions columns into the tiles file
    (its GeoJSON when the run's ``updates`` are flushed, or here without them)."""
    with updating(updates) as pending:
        return _compute_file(tiles_path, folder, definition, workers, progress_mode, pending)


def _compute_file(
    tiles_path: Path,
    folder: Path,
    definition: str | None,
    workers: int | None,
    progress_mode: str,
    updates: TilesUpdates,
) -> Outcome:
    import shapely

    from geetiles.classes import label_table
    from geetiles.progress import Progress
    from geetiles.proportions.counting import count_chips

    table = label_table(folder, definition)
    started = time.perf_counter()
    chips = lonlat(updates.load(tiles_path))
    require_identifiers(chips, tiles_path)
    identifiers = chips["identifier"].astype(str).to_numpy()
    progress = Progress(len(chips), progress_mode, f"proportions {table.dataset}")
    try:
        counts = count_chips(
            folder, identifiers, shapely.to_wkb(np.asarray(chips.geometry.values)), table, workers, progress
        )
    finally:
        progress.close()
    return write_counts(chips, tiles_path, table, counts, started, updates)
