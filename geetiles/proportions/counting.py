"""Count the classes of every chip of a tiles file in its label chips, in parallel.

Chips go to worker processes in batches of identifiers and WKB geometries; a worker reads each chip,
puts the chip's geometry into the raster's CRS and counts (``coverage.count_classes``). A chip whose
file is missing or unreadable is recorded with the reason and the others go on.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from geetiles.classes import LabelTable

log = logging.getLogger(__name__)

BATCH = 2000  # chips per message to a worker: ~1 s of work, so progress moves and memory stays small
GROUP = 256  # chips read before their geometries are transformed together (memory: 256 chips)
PARALLEL_FROM = 10_000  # fewer chips are faster in one process than after starting workers (~1 s)


@dataclass
class Counts:
    """Per chip: pixels of each class, pixels inside, pixels of unknown values; failed chips named."""

    classes: np.ndarray  # (chips, classes)
    inside: np.ndarray
    unknown: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)  # row → reason


def count_chips(
    folder: Path,
    identifiers: np.ndarray,
    geometries_wkb: np.ndarray,
    table: LabelTable,
    workers: int | None = None,
    progress=None,
) -> Counts:
    """Count every chip's classes; ``geometries_wkb`` are lon/lat polygons in WKB."""
    total = len(identifiers)
    counts = Counts(np.zeros((total, len(table.keys))), np.zeros(total), np.zeros(total))
    batches = [(start, min(start + BATCH, total)) for start in range(0, total, BATCH)]
    workers = _workers(workers, total)
    if workers <= 1:
        for start, stop in batches:
            _merge(
                counts,
                start,
                _count_batch(folder, identifiers[start:stop], geometries_wkb[start:stop], table),
                progress,
            )
        return counts
    from geetiles.process_pool import process_pool

    with process_pool(workers) as pool:
        futures = {
            pool.submit(_count_batch, folder, identifiers[a:b], geometries_wkb[a:b], table): a for a, b in batches
        }
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            _merge(counts, futures[future], future.result(), progress)
    return counts


def _workers(workers: int | None, total: int) -> int:
    if workers is not None:
        return max(1, workers)
    return 1 if total < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, total // BATCH))


def _merge(counts: Counts, start: int, batch, progress) -> None:
    classes, inside, unknown, failed = batch
    stop = start + len(inside)
    counts.classes[start:stop] = classes
    counts.inside[start:stop] = inside
    counts.unknown[start:stop] = unknown
    counts.failed.update({start + row: reason for row, reason in failed.items()})
    if progress is not None:
        progress.update(len(inside) - len(failed), len(failed), 0)


def _count_batch(folder: Path, identifiers, geometries_wkb, table: LabelTable):
    """One batch, in a worker: (classes, inside, unknown, {row: reason})."""
    import shapely

    from geetiles.tiff.folder_reader import FolderReader

    geometries = shapely.from_wkb(geometries_wkb)
    classes = np.zeros((len(identifiers), len(table.keys)))
    inside, unknown = np.zeros(len(identifiers)), np.zeros(len(identifiers))
    failed: dict[int, str] = {}
    names = identifiers.tolist()
    with FolderReader(folder) as reader:
        for start in range(0, len(names), GROUP):
            rows = range(start, min(start + GROUP, len(names)))
            _count_group(reader, names, geometries, rows, table, (classes, inside, unknown), failed)
    return classes, inside, unknown, failed


def _count_group(
    folder,
    names: list[str],
    geometries: np.ndarray,
    rows: range,
    table: LabelTable,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
    failed: dict[int, str],
) -> None:
    """Read a group of chips, put their geometries into each raster's CRS in one call per CRS (a call
    per chip cost as much as the counting), then count."""
    from geetiles.proportions.coverage import count_classes, rectangles
    from geetiles.tiff import UnreadableChip

    rasters = {}
    for row in rows:
        try:
            rasters[row] = folder.read_chip(f"{names[row]}.tif")
        except UnreadableChip as error:
            failed[row] = str(error)
        except Exception as error:  # one broken chip must not stop the others; it is reported
            failed[row] = f"{type(error).__name__}: {error}"
    by_crs: dict[str, list[int]] = {}
    for row, raster in rasters.items():
        by_crs.setdefault(raster.crs, []).append(row)
    placed = {}
    for crs, chosen in by_crs.items():
        try:
            moved = _in_crs(geometries[chosen], crs)
            placed.update(zip(chosen, zip(moved.tolist(), rectangles(moved))))
        except Exception as error:  # a CRS pyproj cannot use: every chip in it is reported
            failed.update({row: f"{type(error).__name__}: {error}" for row in chosen})
    classes, inside, unknown = out
    for row, (geometry, rectangle) in placed.items():
        try:
            counted = count_classes(rasters[row], geometry, table, rectangle)
        except Exception as error:  # one broken chip must not stop the others; it is reported
            failed[row] = f"{type(error).__name__}: {error}"
            continue
        classes[row], inside[row], unknown[row] = counted.classes, counted.inside, counted.unknown


def _in_crs(geometries, crs: str):
    """Lon/lat geometries (an array, or one) in ``crs``: one transformation of all their coordinates."""
    if crs == "EPSG:4326":
        return geometries
    import shapely

    transformer = _transformer(crs)
    return shapely.transform(geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


@lru_cache(maxsize=16)
def _transformer(crs: str):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)
