"""The ``proportions`` stage (and ``geet lp.compute`` / ``geet lp.from_foreign``): the share of each
label class inside every chip, and optionally the mix of the foreign units' shares.

The columns go into the tiles file and its twin in place, without changing its name or hash (the
chips' geometry is untouched), as geetiles 0.1.7 did (in a run the GeoJSON is written once, by the
runner: :mod:`geetiles.tiles.updates`; a file in 0.1.7's layout keeps 0.1.7's bytes, the valid fraction
and per-class columns going to the twin only); a record of the run sits beside the file
(``{tiles}.{dataset}_proportions.geetiles.yaml``). Chips whose file is missing or unreadable are
counted, listed (``{tiles}.{dataset}_proportions.failed.csv``) and fail the run after every other
chip has its proportions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geetiles.config import ProportionsEngine, SourceKind, Stage, TilingKind
from geetiles.errors import RunFailed, UserInputError
from geetiles.layout import chips_folder, column_output, failed_listing
from geetiles.tiles import existing_tiles_file
from geetiles.tiles.updates import TilesUpdates, updating

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    column: str
    chips: int
    failed: dict[str, str] = field(default_factory=dict)  # identifier → reason
    seconds: float = 0.0


def check(experiment) -> None:
    """Settings that cannot work, refused before any stage runs."""
    config = experiment.config
    settings = config.proportions
    if settings.engine is ProportionsEngine.none and not settings.from_foreign:
        return
    if settings.workers is not None and settings.workers < 1:
        raise UserInputError(f"proportions.workers={settings.workers} must be at least 1 (or null: one per core)")
    if settings.units_per_request < 1:
        raise UserInputError(f"proportions.units_per_request={settings.units_per_request} must be at least 1")
    if settings.scale_m is not None and not settings.scale_m > 0:
        raise UserInputError(
            f"proportions.scale_m={settings.scale_m:g} must be a positive number of metres (or null: native)"
        )
    if (
        settings.engine is ProportionsEngine.earthengine
        and _has_labels(config.labels)
        and config.labels.kind is not SourceKind.earthengine
    ):
        raise UserInputError(
            f"proportions=earthengine needs labels from Earth Engine, not labels.kind={config.labels.kind.value}; "
            "use proportions=local"
        )
    alone = Stage.tiling not in config.stages
    if alone and settings.tiles_file:
        tiles_path = existing_tiles_file(settings.tiles_file, "proportions.tiles_file")
        if settings.engine is ProportionsEngine.local and Stage.download not in config.stages:
            name = _dataset_name(config)
            if name is not None:
                _label_folder(tiles_path, name)
    if settings.from_foreign and settings.foreign_file:
        existing_tiles_file(settings.foreign_file, "proportions.foreign_file", "the foreign units' tiles file")
    elif (
        settings.from_foreign
        and settings.engine is not ProportionsEngine.earthengine
        and Stage.foreign in config.stages
        and config.foreign.kind is not TilingKind.none
    ):
        raise UserInputError(
            "proportions.from_foreign=true with this run's foreign units needs their proportions: "
            "proportions=earthengine computes them on Earth Engine, or set proportions.foreign_file to "
            "a units' tiles file that has them (geet lp.compute on its downloaded labels)"
        )


def run(experiment, context) -> None:
    config = experiment.config
    settings = config.proportions
    if settings.engine is ProportionsEngine.none and not settings.from_foreign:
        log.info("proportions=none: no label proportions")
        return
    name = _dataset_name(config)
    if name is None:
        log.info("no labels: no proportions (e.g. labels=worldcover, or experiment=demo)")
        return
    tiles_path = context.tiles_file or (
        existing_tiles_file(settings.tiles_file, "proportions.tiles_file") if settings.tiles_file else None
    )
    if tiles_path is None:
        raise UserInputError(
            "the proportions stage needs a tiles file: run the tiling stage first or set proportions.tiles_file=..."
        )
    from geetiles.record import write_record

    foreign_path = None
    if settings.from_foreign:
        foreign_path = context.foreign_file or (
            existing_tiles_file(settings.foreign_file, "proportions.foreign_file", "the foreign units' tiles file")
            if settings.foreign_file
            else None
        )
        if foreign_path is None:
            raise UserInputError(
                "proportions.from_foreign=true needs foreign units: set proportions.foreign_file=... "
                "(a tiles file with proportions) or run with foreign=select/random/grid/utm/file"
            )
        if settings.engine is ProportionsEngine.earthengine and not _has_column(foreign_path, name):
            units = compute_on_earth_engine(
                experiment, foreign_path, name, progress_mode=config.download.progress, updates=context.tiles_updates
            )
            raise_on_failures(units, foreign_path)
        require_foreign_proportions(foreign_path, name)  # before anything is written
    outcome = None
    if settings.engine is ProportionsEngine.earthengine:
        outcome = compute_on_earth_engine(
            experiment, tiles_path, name, progress_mode=config.download.progress, updates=context.tiles_updates
        )
    elif settings.engine is ProportionsEngine.local:
        folder = context.labels_dir or _label_folder(tiles_path, name)
        outcome = compute_file(
            tiles_path,
            folder,
            settings.definition,
            settings.workers,
            config.download.progress,
            updates=context.tiles_updates,
        )
    if outcome is not None:
        write_record(
            column_output(tiles_path, outcome.column),
            experiment,
            stage="proportions",
            extra={
                "tiles_file": str(tiles_path),
                "column": outcome.column,
                "engine": settings.engine.value,
                "chips": outcome.chips,
                "failed": len(outcome.failed),
                "seconds": round(outcome.seconds, 3),
            },
        )
    if foreign_path is not None:
        column, id_column = mix_from_foreign(tiles_path, foreign_path, name, updates=context.tiles_updates)
        write_record(
            column_output(tiles_path, column),
            experiment,
            stage="proportions",
            extra={
                "tiles_file": str(tiles_path),
                "foreign_file": str(foreign_path),
                "column": column,
                "foreignid_column": id_column,
            },
        )
    context.outputs.append(tiles_path)
    if outcome is not None:
        raise_on_failures(outcome, tiles_path)


def raise_on_failures(outcome: Outcome, tiles_path: Path) -> None:
    """A failed chip is never silent: list them beside the tiles file and fail the run."""
    listing = failed_listing(tiles_path, outcome.column)
    if not outcome.failed:
        listing.unlink(missing_ok=True)
        return
    import csv
    import io

    from geetiles.atomic import write_text

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["identifier", "reason"])
    writer.writerows(sorted(outcome.failed.items()))
    write_text(listing, text.getvalue())
    sample = ", ".join(f"{k} ({v})" for k, v in list(outcome.failed.items())[:3])
    raise RunFailed(
        f"proportions: {len(outcome.failed)} of {outcome.chips} chips could not be read ({sample}"
        f"{', ...' if len(outcome.failed) > 3 else ''}); the other chips have their proportions. "
        f"Listed in {listing}; download them again (the download resumes) and rerun"
    )


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
    chips = _lonlat(updates.load(tiles_path))
    _require_identifiers(chips, tiles_path)
    identifiers = chips["identifier"].astype(str).to_numpy()
    progress = Progress(len(chips), progress_mode, f"proportions {table.dataset}")
    try:
        counts = count_chips(
            folder, identifiers, shapely.to_wkb(np.asarray(chips.geometry.values)), table, workers, progress
        )
    finally:
        progress.close()
    return _write(chips, tiles_path, table, counts, started, updates)


def compute_on_earth_engine(
    experiment, tiles_path: Path, name: str, progress_mode: str = "auto", updates: TilesUpdates | None = None
) -> Outcome:
    """The units' class histograms from Earth Engine (reduceRegions), written like the local ones."""
    with updating(updates) as pending:
        return _compute_on_earth_engine(experiment, tiles_path, name, progress_mode, pending)


def _compute_on_earth_engine(
    experiment, tiles_path: Path, name: str, progress_mode: str, updates: TilesUpdates
) -> Outcome:
    from geetiles.classes import LabelTable
    from geetiles.progress import Progress
    from geetiles.proportions.earthengine import count_units
    from geetiles.sources.base import class_table
    from geetiles.sources.ee_recipe import chosen_recipe

    labels = experiment.config.labels
    recipe = chosen_recipe(labels)
    if recipe is None or not (recipe.classes or recipe.range_map):
        raise UserInputError(
            f"labels dataset {name!r} declares no classes (recipe.classes or recipe.range_map), so it has no "
            "proportions; choose a labels recipe with classes (e.g. labels=worldcover)"
        )
    nodata = (
        labels.nodata
        if labels.nodata is not None
        else (None if recipe.dtype is not None and recipe.dtype.value.startswith("float") else 0.0)
    )
    table = LabelTable.from_classes(
        name, class_table(recipe.classes, recipe.remap, recipe.range_map, recipe.proportion_keys), nodata
    )
    started = time.perf_counter()
    chips = _lonlat(updates.load(tiles_path))
    _require_identifiers(chips, tiles_path)
    progress = Progress(len(chips), progress_mode, f"proportions {name} (Earth Engine)")
    try:
        counts = count_units(experiment, labels, np.asarray(chips.geometry.values), table, progress)
    finally:
        progress.close()
    return _write(chips, tiles_path, table, counts, started, updates)


def _write(chips, tiles_path: Path, table, counts, started: float, updates: TilesUpdates) -> Outcome:
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
    from geetiles.proportions.foreign_mix import mix, unit_table
    from geetiles.tiles import load_tiles

    name = foreign_name(foreign_path)
    started = time.perf_counter()
    units = _lonlat(load_tiles(foreign_path))
    source = proportions_column(dataset)
    if source not in units.columns:
        require_foreign_proportions(foreign_path, dataset)
    _require_identifiers(units, foreign_path)
    chips = _lonlat(updates.load(tiles_path))
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


def _has_column(path: Path, dataset: str) -> bool:
    from geetiles.proportions.columns import proportions_column
    from geetiles.tiles import load_tiles

    return proportions_column(dataset) in load_tiles(path).columns


def require_foreign_proportions(foreign_path: Path, dataset: str) -> None:
    from geetiles.proportions.columns import proportions_column

    if not _has_column(foreign_path, dataset):
        raise UserInputError(
            f"foreign tiles file {foreign_path.name} has no {proportions_column(dataset)} column yet; compute "
            f"it first: geet lp.compute --tiles_file {foreign_path} --labels_dataset_def {dataset}"
        )


def _require_identifiers(frame, path: Path) -> None:
    if "identifier" not in frame.columns:
        raise UserInputError(
            f"tiles file {path.name} has no 'identifier' column; give a tiles file made by geetiles (or geetiles 0.1.7)"
        )
    if not len(frame):
        raise UserInputError(f"tiles file {path.name} has no chips; nothing to compute")


def _lonlat(frame):
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame


def _has_labels(labels) -> bool:
    from geetiles.sources.naming import has_data

    return has_data(labels)


def _dataset_name(config) -> str | None:
    """The labels dataset's folder name: proportions.dataset, else this run's labels."""
    from geetiles.sources.naming import folder_name

    return config.proportions.dataset or folder_name(config.labels)


def _label_folder(tiles_path: Path, name: str) -> Path:
    """The chips of dataset ``name`` for this tiles file; a clear error when they were never downloaded."""
    folder = chips_folder(tiles_path, name)
    if not folder.is_dir():
        raise UserInputError(
            f"labels dataset folder {folder} does not exist: download the labels first "
            f"(geet download --tiles_file {tiles_path} --dataset_def {name} ..., or the download stage "
            "with labels=...)"
        )
    return folder
