"""The ``split`` stage (and ``geet split``): train/val/test columns in the tiles file, the original's
``{tiles base}_splits.csv`` and a split report beside it.

The columns are written into the tiles file and its twin in place, without changing its name or
hash (the chips' geometry is untouched), as geetiles 0.1.7 did; in a run the GeoJSON is written once by
the runner (:mod:`geetiles.tiles.updates`), and a file in 0.1.7's layout keeps 0.1.7's bytes."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from geetiles.config import SplitBy, SplitKind, Stage
from geetiles.errors import UserInputError
from geetiles.layout import column_output, splits_csv
from geetiles.numbers import require_finite
from geetiles.tiles import existing_tiles_file, stage_tiles_file
from geetiles.tiles.updates import TilesUpdates, updating

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")


def check(experiment) -> None:
    """Settings that cannot work, refused before any stage runs."""
    split = experiment.config.split
    if split.kind is SplitKind.none:
        return
    fractions = list(split.fractions)
    if len(fractions) != 3:
        raise UserInputError(f"split.fractions={fractions} must be three numbers: train, val, test")
    for index, fraction in enumerate(fractions):
        require_finite(f"split.fractions[{index}]", fraction)
    if any(f < 0 for f in fractions):
        raise UserInputError(
            f"split.fractions={fractions} cannot be negative; give train, val, test shares summing to 1"
        )
    if abs(sum(fractions) - 1) > 1e-3:
        raise UserInputError(
            f"split.fractions={fractions} sum to {sum(fractions):g}, not 1 (±0.001); "
            "give train, val, test shares summing to 1"
        )
    if not split.buffer_m >= 0:
        raise UserInputError(f"split.buffer_m={split.buffer_m:g} cannot be negative; 0 means no guard gap")
    if split.kind is SplitKind.blocks and not split.block_size_m > 0:
        raise UserInputError(f"split.block_size_m={split.block_size_m:g} must be a positive number of metres")
    if split.kind is SplitKind.bands:
        if (split.band_width_m is None) == (split.bands is None):
            raise UserInputError(
                "split=bands needs exactly one of split.bands (a count) or split.band_width_m (metres); "
                "set the other to null"
            )
        if split.band_width_m is not None and not split.band_width_m > 0:
            raise UserInputError(f"split.band_width_m={split.band_width_m:g} must be a positive number of metres")
        if split.bands is not None and split.bands < 1:
            raise UserInputError(f"split.bands={split.bands} must be at least 1")
    if split.kind is SplitKind.legacy:
        if split.nbands < 1:
            raise UserInputError(f"split.nbands={split.nbands} must be at least 1")
        if not -math.pi / 2 <= split.angle <= math.pi / 2:
            raise UserInputError(
                f"split.angle={split.angle:g} must be in [-pi/2, pi/2] (radians), as geetiles 0.1.7 requires"
            )
        if split.buffer_m or split.group_by:
            raise UserInputError(
                "split=legacy reproduces geetiles 0.1.7 exactly: it takes no split.buffer_m or "
                "split.group_by; use split=bands for a guard gap"
            )
    if split.kind is SplitKind.groups and not split.column:
        raise UserInputError("split=groups needs split.column, e.g. split.column=foreignid_communes (from intersect)")
    if split.seed < 0:
        raise UserInputError(f"split.seed={split.seed} must be a non-negative integer")
    if split.tiles_file and Stage.tiling not in experiment.config.stages:
        existing_tiles_file(split.tiles_file, "split.tiles_file")


def run(experiment, context) -> None:
    split = experiment.config.split
    if split.kind is SplitKind.none:
        log.info("split=none: no train/val/test split (e.g. split=blocks split.block_size_m=10000 split.buffer_m=1000)")
        return
    tiles_path = stage_tiles_file(context.tiles_file, split.tiles_file, "split")
    from geetiles.record import write_record

    outputs = split_file(tiles_path, split, context.tiles_updates)
    write_record(
        column_output(tiles_path, "split"),
        experiment,
        stage="split",
        extra={"tiles_file": str(tiles_path), "splits_csv": outputs[0].name, "report": outputs[1].name},
    )
    context.outputs.extend(outputs)


def split_file(tiles_path: Path, split, updates: TilesUpdates | None = None) -> tuple[Path, Path]:
    """Split the chips of a tiles file; write the columns, the splits CSV and the report (the GeoJSON
    when the run's ``updates`` are flushed, or here without them)."""
    with updating(updates) as pending:
        return _split(tiles_path, split, pending)


def _split(tiles_path: Path, split, updates: TilesUpdates) -> tuple[Path, Path]:
    from geetiles.split.report import split_report, write_report

    started = time.perf_counter()
    chips = updates.load(tiles_path)
    if chips.crs is not None and not chips.crs.equals("EPSG:4326"):
        chips = chips.to_crs("EPSG:4326")
    if not len(chips):
        raise UserInputError(f"tiles file {tiles_path.name} has no chips; nothing to split")
    columns, geometry_m = assign(chips, split)
    for name, values in columns.items():
        chips[name] = values
    computed = time.perf_counter()
    report = split_report(chips, geometry_m, split)
    updates.save(chips, tiles_path)
    csv_path = write_splits_csv(chips, tiles_path)
    report_path = write_report(report, tiles_path)
    shares = ", ".join(f"{k} {v:.1%}" for k, v in report["fractions_by_count"].items())
    log.info(
        "split (%s): %d chips → %s in %.2f s (written in %.2f s); %s",
        split.kind.value,
        len(chips),
        shares,
        computed - started,
        time.perf_counter() - computed,
        csv_path.name,
    )
    for warning in report["warnings"]:
        log.warning("split: %s", warning)
    return csv_path, report_path


def assign(chips, split) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The split columns of ``chips`` (``split``, and ``split_{name}`` for legacy with a foreign
    name), and the chips in metres (None for legacy, which works in normalised degrees)."""
    from geetiles.split.codes import NAMES
    from geetiles.split.splitter import SPLITTERS, SplitInput, column_values

    geometry = np.asarray(chips.geometry.values)
    if split.kind is SplitKind.legacy:
        from geetiles.split.legacy import legacy_split, majority_by_group

        train, val, test = split.fractions
        labels = legacy_split(geometry, split.nbands, split.angle, train, test, val)
        columns = {"split": labels}
        if split.foreign_name:
            groups = column_values(chips, f"foreignid_{split.foreign_name}", "split.foreign_name")
            columns[f"split_{split.foreign_name}"] = majority_by_group(labels, groups)
        return columns, None
    from geetiles.split.metric import project_chips

    _, centres, geometry_m = project_chips(geometry)  # the plane is built once, for centres and polygons
    weights = _weights(geometry_m, split.by)
    fractions = np.asarray(split.fractions, dtype=float) / sum(split.fractions)
    codes = SPLITTERS[split.kind](SplitInput(chips, centres, weights, fractions), split)
    if split.group_by:
        from geetiles.split.groups import group_by

        codes = group_by(codes, column_values(chips, split.group_by, "split.group_by"), weights)
    if split.buffer_m > 0:
        from geetiles.split.gap import guard_gap

        codes = guard_gap(geometry_m, codes, split.buffer_m)
    return {"split": NAMES[codes]}, geometry_m


def _weights(geometry_m: np.ndarray, by: SplitBy) -> np.ndarray:
    import shapely

    return shapely.area(geometry_m) if by is SplitBy.area else np.ones(len(geometry_m))


def write_splits_csv(chips, tiles_path: Path) -> Path:
    """``{tiles base}_splits.csv`` as geetiles 0.1.7 writes it: ``identifier`` and every column whose
    name contains "split" (but ``split_nb``), in the file's column order; gap chips left out."""
    from geetiles.atomic import atomic_path

    columns = ["identifier", *(c for c in chips.columns if "split" in c and c != "split_nb")]
    rows = chips.loc[chips["split"] != "gap", columns]
    path = splits_csv(tiles_path)
    with atomic_path(path) as tmp:
        rows.to_csv(tmp, index=False, lineterminator="\n")
    return path
