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
from pathlib import Path

from geetiles.config import ProportionsEngine, SourceKind, Stage, TilingKind
from geetiles.errors import RunFailed, UserInputError
from geetiles.layout import chips_folder, column_output, failed_listing
from geetiles.proportions.outcome import Outcome
from geetiles.tiles import existing_tiles_file, stage_tiles_file

log = logging.getLogger(__name__)


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
    tiles_path = stage_tiles_file(context.tiles_file, settings.tiles_file, "proportions")
    from geetiles.proportions.earthengine import compute_on_earth_engine
    from geetiles.proportions.foreign_mix import has_proportions, mix_from_foreign, require_foreign_proportions
    from geetiles.proportions.local import compute_file
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
        if settings.engine is ProportionsEngine.earthengine and not has_proportions(foreign_path, name):
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
