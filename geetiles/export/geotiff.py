"""The ``geotiff`` format: ``images/{id}.tif`` and ``labels/{id}.tif`` as Cloud-Optimised GeoTIFFs in
their native dtype (nodata, band descriptions and the label colour table kept), indexed by
``chips.parquet`` (see ``export/index.py``).

Chips are re-encoded, not copied: the downloads are tiled GeoTIFFs but not in GDAL's COG layout,
and GDAL's COG driver costs several times what ``geetiles.tiff.cog`` does (``bench/tiff.py``),
so the writer writes the layout directly. Batches of chips go to worker processes for large
datasets, as in the proportions stage. Each file is written in place, not through a temporary name:
the whole dataset folder is built aside and swapped in only when complete
(``geetiles.destinations.building``), and a rename per file was a third of a small chip's cost.
"""

from __future__ import annotations

import os
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.export.inputs import DatasetInfo, ExportInput

BATCH = 500
PARALLEL_FROM = 2000  # fewer chips are written faster in one process than after starting workers


@dataclass
class WrittenChips:
    """Per chip (in input order): the image grid and the SHA-256 of each file written."""

    crs: list[str]
    transform: list[tuple]
    width: np.ndarray
    height: np.ndarray
    image_sha256: list[str]
    label_sha256: list[str | None]


def colormap(info: DatasetInfo | None) -> dict[int, tuple[int, int, int, int]] | None:
    """The label colour table: each class code's colour (code tables of integer labels only)."""
    if info is None or not info.classes or np.dtype(info.dtype).kind not in "u" or np.dtype(info.dtype).itemsize > 2:
        return None
    if any("min" in c or "max" in c for c in info.classes):  # range maps: the pixels hold raw values, not classes
        return None
    table = {}
    for entry in info.classes:
        color = str(entry.get("color", "#000000")).lstrip("#")
        if len(color) == 6:
            table[int(entry["code"])] = (int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16), 255)
    return table or None


def write_chips(inp: ExportInput, dest: Path, workers: int | None = None, progress=None) -> WrittenChips:
    """Write every chip's image (and label) into ``dest/images`` and ``dest/labels``."""
    (dest / "images").mkdir(parents=True, exist_ok=True)
    if inp.labels is not None:
        (dest / "labels").mkdir(parents=True, exist_ok=True)
    total = len(inp.identifiers)
    batches = [(start, min(start + BATCH, total)) for start in range(0, total, BATCH)]
    spec = (inp.images, inp.labels, colormap(inp.labels), dest)
    results: dict[int, tuple] = {}
    workers = _workers(workers, total)
    if workers <= 1:
        for start, stop in batches:
            results[start] = _write_batch(spec, inp.identifiers[start:stop])
            if progress is not None:
                progress.update(stop - start, 0, 0)
    else:
        from geetiles.process_pool import process_pool

        with process_pool(workers) as pool:
            futures = {pool.submit(_write_batch, spec, inp.identifiers[a:b]): a for a, b in batches}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress.update(len(results[futures[future]][0]), 0, 0)
    rows = [row for start in sorted(results) for row in zip(*results[start])]
    crs, transform, width, height, image_sha, label_sha = (list(column) for column in zip(*rows)) if rows else ([],) * 6
    return WrittenChips(
        crs, transform, np.asarray(width, dtype=np.int64), np.asarray(height, dtype=np.int64), image_sha, label_sha
    )


def _workers(workers: int | None, total: int) -> int:
    if workers is not None:
        return max(1, workers)
    return 1 if total < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, total // BATCH))


def _write_batch(spec, identifiers: np.ndarray):
    """One batch, in a worker: per chip (crs, transform, width, height, image sha256, label sha256)."""
    from geetiles.names import is_safe_name
    from geetiles.tiff import read_chip
    from geetiles.tiff.cog import write_cog

    images, labels, label_colors, dest = spec
    folders = [(os.fspath(images.folder), os.fspath(dest / "images"))]
    if labels is not None:
        folders.append((os.fspath(labels.folder), os.fspath(dest / "labels")))
    out: tuple[list, ...] = ([], [], [], [], [], [])
    for identifier in identifiers.tolist():
        if not is_safe_name(identifier):
            images.path(identifier)  # raises, naming the rule, as before
        name = f"{identifier}.tif"  # plain strings: pathlib cost more per chip than the writing
        image = read_chip(os.path.join(folders[0][0], name), all_bands=True)
        nodata = images.nodata if images.nodata is not None else image.nodata
        image_sha = write_cog(
            os.path.join(folders[0][1], name),
            image.values,
            image.crs,
            image.transform,
            list(images.bands),
            nodata,
            atomic=False,
        )
        label_sha = None
        if labels is not None:
            label = read_chip(os.path.join(folders[1][0], name), all_bands=True)
            label_nodata = labels.nodata if labels.nodata is not None else label.nodata
            label_sha = write_cog(
                os.path.join(folders[1][1], name),
                label.values,
                label.crs,
                label.transform,
                list(labels.bands),
                label_nodata,
                colormap=label_colors,
                atomic=False,
            )
        height, width = image.values.shape[-2:]
        for column, value in zip(out, (image.crs, image.transform, width, height, image_sha, label_sha)):
            column.append(value)
    return out
