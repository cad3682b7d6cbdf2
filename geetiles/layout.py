"""Every output path derived from a tiles file's name, in one place.

A tiles file ``{dest}/{stem}.geojson`` (``stem`` = ``{aoi}_partitions_{tiles}_{hash}``, as geetiles 0.1.7
names it) owns what sits beside it::

    {stem}.parquet                      its GeoParquet twin
    {stem}.lock                         the lock its writers take (empty; harmless when left)
    {stem}/{dataset}/{identifier}.tif   the downloaded chips (0.1.7's layout)
    {stem}_splits.csv                   0.1.7's split listing
    {stem}_splits_report.json           the split report
    {stem}_dataset                      the export's default folder
    {stem}_report                       the report's default folder
    {stem}.{column}.geetiles.yaml       the record of the stage that added ``column``
    {stem}.{column}.failed.csv          the chips a stage could not read

Names that come from users or data (datasets, columns) go through :func:`geetiles.names.child_path`,
so a path built here never leaves the tiles file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from geetiles.names import child_path

TILES_SUFFIX = ".geojson"
TWIN_SUFFIX = ".parquet"


def _path(tiles_path: str | os.PathLike[str]) -> Path:
    return Path(tiles_path)


def twin_path(tiles_path: str | os.PathLike[str]) -> Path:
    """The GeoParquet twin of a tiles file."""
    return _path(tiles_path).with_suffix(TWIN_SUFFIX)


def geojson_path(path: str | os.PathLike[str]) -> Path:
    """The GeoJSON of a tiles file named by its GeoJSON or its twin."""
    path = _path(path)
    return path.with_suffix(TILES_SUFFIX) if path.suffix == TWIN_SUFFIX else path


def lock_path(tiles_path: str | os.PathLike[str]) -> Path:
    """The lock file writers of a tiles file hold (``fcntl.flock``) while they update it."""
    return _path(tiles_path).with_suffix(".lock")


def chips_root(tiles_path: str | os.PathLike[str]) -> Path:
    """The folder of every dataset's chips: the tiles file's path without its extension (0.1.7's)."""
    return _path(tiles_path).with_suffix("")


def chips_folder(tiles_path: str | os.PathLike[str], dataset: str) -> Path:
    """The chips of one dataset: ``{stem}/{dataset}``, refused unless ``dataset`` follows the name rule."""
    return child_path(chips_root(tiles_path), dataset)


def _beside(tiles_path: str | os.PathLike[str], tail: str) -> Path:
    path = _path(tiles_path)
    return path.with_name(f"{path.stem}{tail}")


def splits_csv(tiles_path: str | os.PathLike[str]) -> Path:
    """``{stem}_splits.csv``, named as geetiles 0.1.7 names it."""
    return _beside(tiles_path, "_splits.csv")


def splits_report(tiles_path: str | os.PathLike[str]) -> Path:
    return _beside(tiles_path, "_splits_report.json")


def default_dataset_folder(tiles_path: str | os.PathLike[str]) -> Path:
    """Where the export goes unless told: ``{stem}_dataset``."""
    return _beside(tiles_path, "_dataset")


def default_report_folder(tiles_path: str | os.PathLike[str]) -> Path:
    """Where the report goes unless told: ``{stem}_report``."""
    return _beside(tiles_path, "_report")


def _column_file(tiles_path: str | os.PathLike[str], column: str, suffix: str) -> Path:
    """``{stem}.{column}{suffix}`` beside the tiles file; ``column`` must follow the name rule (the
    stem is the tiles file's own name, already checked where it was made)."""
    path = _path(tiles_path)
    return path.with_name(f"{path.stem}.{child_path(Path(), column).name}{suffix}")


def column_output(tiles_path: str | os.PathLike[str], column: str) -> Path:
    """``{stem}.{column}.geojson``: the name a stage's record of ``column`` is derived from
    (:func:`geetiles.record.write_record` makes it ``{stem}.{column}.geetiles.yaml``)."""
    return _column_file(tiles_path, column, _path(tiles_path).suffix)


def column_record(tiles_path: str | os.PathLike[str], column: str) -> Path:
    """``{stem}.{column}.geetiles.yaml``: the record of the stage that added ``column``."""
    return _column_file(tiles_path, column, ".geetiles.yaml")


def failed_listing(tiles_path: str | os.PathLike[str], column: str) -> Path:
    """``{stem}.{column}.failed.csv``: the chips a stage could not read for ``column``."""
    return _column_file(tiles_path, column, ".failed.csv")


def records_glob(tiles_path: str | os.PathLike[str]) -> str:
    """The glob pattern (in the tiles file's folder) of every record beside a tiles file."""
    return f"{_path(tiles_path).stem}.*geetiles.yaml"
