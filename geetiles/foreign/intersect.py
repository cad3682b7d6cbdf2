"""The ``intersect`` stage (and ``geet intersect``): give every chip ``foreignid_{name}``, the
identifier of the foreign unit it overlaps most, or ``-1``.

``{name}`` is the token after ``_partitions_`` in the foreign file's name, as geetiles 0.1.7 takes
it. The column is written into the tiles file and its GeoParquet twin in place: the file's name and
hash do not change (they hash the chips' geometry, which is untouched). In a run the twin is written
here and the GeoJSON once by the runner (:mod:`geetiles.tiles.updates`); a file in 0.1.7's layout keeps
0.1.7's bytes."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from geetiles.config import Stage, TilingKind
from geetiles.errors import UserInputError
from geetiles.layout import column_output
from geetiles.names import foreign_name
from geetiles.tiles import existing_tiles_file, stage_tiles_file
from geetiles.tiles.updates import TilesUpdates, updating

log = logging.getLogger(__name__)


def check(experiment) -> None:
    """Files named for the stage alone are checked before any stage runs."""
    config = experiment.config
    if config.intersect.tiles_file and Stage.tiling not in config.stages:
        existing_tiles_file(config.intersect.tiles_file, "intersect.tiles_file", "the chips' tiles file")
    if config.intersect.foreign_file:
        foreign_name(
            existing_tiles_file(
                config.intersect.foreign_file, "intersect.foreign_file", "the foreign units' tiles file"
            )
        )


def run(experiment, context) -> None:
    config = experiment.config
    foreign_path = context.foreign_file or _configured(config.intersect.foreign_file, config.foreign)
    if foreign_path is None:
        if Stage.foreign not in config.stages:
            raise UserInputError(
                "the intersect stage needs foreign units: set intersect.foreign_file=... "
                "(or run with foreign=select/random/grid/utm/file)"
            )
        log.info("no foreign units: nothing to intersect")
        return
    tiles_path = stage_tiles_file(context.tiles_file, config.intersect.tiles_file, "intersect", "the chips' tiles file")
    from geetiles.record import write_record

    column, matched = intersect_files(tiles_path, foreign_path, context.tiles_updates)
    # the tiling's record stays; this column's record sits beside it: {tiles}.{column}.geetiles.yaml
    write_record(
        column_output(tiles_path, column),
        experiment,
        stage="intersect",
        extra={
            "tiles_file": str(tiles_path),
            "foreign_file": str(foreign_path),
            "column": column,
            "chips_in_a_unit": matched[0],
            "chips_outside": matched[1],
        },
    )
    context.outputs.append(tiles_path)


def intersect_files(
    tiles_path: Path, foreign_path: Path, updates: TilesUpdates | None = None
) -> tuple[str, tuple[int, int]]:
    """Write ``foreignid_{name}`` into the tiles file (and its twin); return the column name and
    the numbers of chips in a unit and outside every unit. With a run's ``updates`` the GeoJSON is
    written when the runner flushes them, else here."""
    with updating(updates) as pending:
        return _intersect(tiles_path, foreign_path, pending)


def _intersect(tiles_path: Path, foreign_path: Path, updates: TilesUpdates) -> tuple[str, tuple[int, int]]:
    from geetiles.overlap import NONE, largest_overlap
    from geetiles.tiles import load_tiles

    name = foreign_name(foreign_path)
    column = f"foreignid_{name}"
    started = time.perf_counter()
    chips = _lonlat(updates.load(tiles_path))
    units = _lonlat(load_tiles(foreign_path))
    if "identifier" not in units.columns:
        raise UserInputError(
            f"foreign tiles file {foreign_path.name!r} has no 'identifier' column; give a tiles file "
            "made by geetiles (or geetiles 0.1.7)"
        )
    if not len(chips) or not len(units):
        raise UserInputError(
            f"{(tiles_path if not len(chips) else foreign_path).name} has no rows; nothing to intersect"
        )
    best = largest_overlap(np.asarray(chips.geometry.values), np.asarray(units.geometry.values))
    matched = best != NONE
    if not matched.any():
        raise UserInputError(
            f"no unit of {foreign_path.name} meets any chip of {tiles_path.name}: are they over the same area?"
        )
    ids = units["identifier"].astype(str).to_numpy()
    chips[column] = np.where(matched, ids[np.maximum(best, 0)], "-1")
    computed = time.perf_counter()
    updates.save(chips, tiles_path)
    log.info(
        "intersect: %d chips × %d units of %s: %d in a unit, %d outside every unit → %s in %.2f s (written in %.2f s)",
        len(chips),
        len(units),
        foreign_path.name,
        int(matched.sum()),
        int((~matched).sum()),
        column,
        computed - started,
        time.perf_counter() - computed,
    )
    return column, (int(matched.sum()), int((~matched).sum()))


def _lonlat(frame):
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame


def _configured(value: str | None, foreign) -> Path | None:
    if value:
        return existing_tiles_file(value, "intersect.foreign_file", "the foreign units' tiles file")
    if foreign.kind is TilingKind.file and foreign.file:
        return existing_tiles_file(foreign.file, "foreign.file", "the foreign units' tiles file")
    return None
