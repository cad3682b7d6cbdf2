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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.export.selection import merge_problems

BATCH = 500
PARALLEL_FROM = 2000  # fewer chips are written faster in one process than after starting workers


@dataclass
class WrittenChips:
    """Per chip (in input order): the image grid and the SHA-256 of each file written. With the checks
    done while writing (``ExportInput.checks``): the chips missing or corrupt (id → reasons, as
    ``selection.verify`` gives them), written for none, and whether the writing stopped at the first."""

    crs: list[str]
    transform: list[tuple]
    width: np.ndarray
    height: np.ndarray
    image_sha256: list[str]
    label_sha256: list[str | None]
    identifiers: np.ndarray | None = None
    problems: dict[str, str] = field(default_factory=dict)
    stopped: bool = False

    def without(self, kept: np.ndarray) -> WrittenChips:
        """The rows of the chips in ``kept`` (in order): those left out had no file written."""
        rows = {identifier: row for row, identifier in enumerate(self.identifiers.tolist())}
        take = [rows[identifier] for identifier in kept.tolist()]
        return WrittenChips(
            [self.crs[r] for r in take],
            [self.transform[r] for r in take],
            self.width[take],
            self.height[take],
            [self.image_sha256[r] for r in take],
            [self.label_sha256[r] for r in take],
            kept,
        )


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


def write_chips(
    inp: ExportInput, dest: Path, workers: int | None = None, progress=None, stop_at_problem: bool = False
) -> WrittenChips:
    """Write every chip's image (and label) into ``dest/images`` and ``dest/labels``. With ``inp.checks``,
    each chip's files are checked against their download manifests as they are read, and a chip that
    fails is not written; ``stop_at_problem``: the batches not started yet are dropped at the first."""
    (dest / "images").mkdir(parents=True, exist_ok=True)
    if inp.labels is not None:
        (dest / "labels").mkdir(parents=True, exist_ok=True)
    total = len(inp.identifiers)
    batches = [(start, min(start + BATCH, total)) for start in range(0, total, BATCH)]
    spec = (inp.images, inp.labels, colormap(inp.labels), dest)
    checks = inp.checks

    def part(a: int, b: int):
        if checks is None:
            return inp.identifiers[a:b], None
        labels = (checks.label_status[a:b], checks.label_sum[a:b]) if checks.label_status is not None else None
        return inp.identifiers[a:b], (checks.image_status[a:b], checks.image_sum[a:b], labels)

    results: dict[int, tuple] = {}
    stopped = False
    workers = _workers(workers, total)
    if workers <= 1:
        for start, stop in batches:
            results[start] = _write_batch(spec, *part(start, stop))
            if progress is not None:
                progress.update(stop - start, 0, 0)
            if stop_at_problem and (results[start][6] or results[start][7]):
                stopped = stop < total
                break
    else:
        from geetiles.process_pool import process_pool

        with process_pool(workers) as pool:
            futures = {pool.submit(_write_batch, spec, *part(a, b)): a for a, b in batches}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress.update(len(results[futures[future]][0]), 0, 0)
                if stop_at_problem and (results[futures[future]][6] or results[futures[future]][7]):
                    stopped = len(results) < len(batches)
                    for other in futures:
                        other.cancel()
                    break
    order = sorted(results)
    rows = [row for start in order for row in zip(*results[start][:6])]
    crs, transform, width, height, image_sha, label_sha = (list(column) for column in zip(*rows)) if rows else ([],) * 6
    written_ids = [identifier for start in order for identifier in results[start][8]]
    problems = merge_problems(
        {k: v for start in order for k, v in results[start][6].items()},
        {k: v for start in order for k, v in results[start][7].items()},
    )
    return WrittenChips(
        crs,
        transform,
        np.asarray(width, dtype=np.int64),
        np.asarray(height, dtype=np.int64),
        image_sha,
        label_sha,
        np.asarray(written_ids, dtype=object),
        problems,
        stopped,
    )


def _workers(workers: int | None, total: int) -> int:
    if workers is not None:
        return max(1, workers)
    return 1 if total < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, total // BATCH))


def _write_batch(spec, identifiers: np.ndarray, checks=None):
    """One batch, in a worker: per chip written (crs, transform, width, height, image sha256, label
    sha256), then the image and label problems found by ``checks`` (statuses and checksums of the
    image, and of the label or None) and the identifiers written."""
    from geetiles.export.selection import checksum_problem, read_chip_bytes
    from geetiles.names import is_safe_name
    from geetiles.tiff import read_chip
    from geetiles.tiff.cog import write_cog
    from geetiles.tiff.reader import chip_of_bytes

    images, labels, label_colors, dest = spec
    folders = [(os.fspath(images.folder), os.fspath(dest / "images"))]
    if labels is not None:
        folders.append((os.fspath(labels.folder), os.fspath(dest / "labels")))
    out: tuple[list, ...] = ([], [], [], [], [], [])
    image_problems: dict[str, str] = {}
    label_problems: dict[str, str] = {}
    written: list[str] = []
    for index, identifier in enumerate(identifiers.tolist()):
        if not is_safe_name(identifier):
            images.path(identifier)  # raises, naming the rule, as before
        name = f"{identifier}.tif"  # plain strings: pathlib cost more per chip than the writing
        image_path = os.path.join(folders[0][0], name)
        label_path = os.path.join(folders[1][0], name) if labels is not None else None
        if checks is None:
            image = read_chip(image_path, all_bands=True)
            label = read_chip(label_path, all_bands=True) if labels is not None else None
        else:  # each file read once: checked against its manifest, then decoded from the same bytes
            image_status, image_sum, label_checks = checks
            data, reason = read_chip_bytes(images, identifier)
            reason = reason or checksum_problem(images, data, image_status[index], image_sum[index])
            if reason:
                image_problems[identifier] = reason
            label_data = None
            if labels is not None:
                label_data, label_reason = read_chip_bytes(labels, identifier)
                label_reason = label_reason or checksum_problem(
                    labels, label_data, label_checks[0][index], label_checks[1][index]
                )
                if label_reason:
                    label_problems[identifier] = label_reason
            if identifier in image_problems or identifier in label_problems:
                continue
            image = chip_of_bytes(data, image_path)
            label = chip_of_bytes(label_data, label_path) if labels is not None else None
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
        written.append(identifier)
    return (*out, image_problems, label_problems, written)
