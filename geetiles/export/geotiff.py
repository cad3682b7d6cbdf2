"""The ``geotiff`` format: ``images/{id}.tif`` and ``labels/{id}.tif`` as Cloud-Optimised GeoTIFFs in
their native dtype (nodata, band descriptions, the label colour table and the download's request tag
kept), indexed by ``chips.parquet`` (see ``export/index.py``).

The download writes its chips as these COGs already, so a chip whose file is judged to be exactly
what this writer would write (``geetiles.tiff.cog_reuse``) is hard-linked into the dataset: the
dataset's file and the download's are then one file on disk, and neither stage ever rewrites a file
in place (the download replaces a chip by renaming a new file over it, which leaves the dataset's
alone). Where links cannot be made (another file system, a policy against them) the bytes are
written. Any other chip (an older download's band-separate GeoTIFF, 0.1.7's, a chip too large for one
tile) is decoded and re-encoded: GDAL's COG driver costs several times what ``geetiles.tiff.cog``
does (``bench/tiff.py``). Batches of chips go to worker processes for large datasets, as in the
proportions stage. Each file is written in place, not through a temporary name: the whole dataset
folder is built aside and swapped in only when complete (``geetiles.destinations.building``).
``bench/pipeline.py`` measures the stage at a million chips.
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
    """The label colour table of a dataset (see ``geetiles.classes.colormap_of``)."""
    from geetiles.classes import colormap_of

    return None if info is None else colormap_of(info.classes, info.dtype)


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
    from geetiles.export.selection import checksum_problem
    from geetiles.names import is_safe_name

    images, labels, label_colors, dest = spec
    for identifier in identifiers.tolist():  # every name checked before any folder is opened
        if not is_safe_name(identifier):
            images.path(identifier)  # raises, naming the rule, as before
    folders = [ChipFolder(images, dest / "images", None)]
    if labels is not None:
        folders.append(ChipFolder(labels, dest / "labels", label_colors))
    out: tuple[list, ...] = ([], [], [], [], [], [])
    problems: tuple[dict[str, str], dict[str, str]] = ({}, {})
    written: list[str] = []
    try:
        for index, identifier in enumerate(identifiers.tolist()):
            chips = []
            for role, folder in enumerate(folders):
                data, reason = folder.read(identifier)
                if checks is not None:  # each file read once: checked against its manifest, then written
                    status, recorded = (checks[0], checks[1]) if role == 0 else checks[2]
                    reason = reason or checksum_problem(folder.info, data, status[index], recorded[index])
                    if reason:
                        problems[role][identifier] = reason
                elif reason:  # checked before writing (export/selection.py): gone since
                    from geetiles.tiff import UnreadableChip

                    raise UnreadableChip(f"{folder.path_of(identifier)}: {reason}")
                chips.append(data)
            if identifier in problems[0] or identifier in problems[1]:
                continue
            image = folders[0].write(identifier, chips[0])
            label_sha = folders[1].write(identifier, chips[1])[4] if labels is not None else None
            for column, value in zip(out, (*image, label_sha)):
                column.append(value)
            written.append(identifier)
    finally:
        for folder in folders:
            folder.close()
    return (*out, *problems, written)


class ChipFolder:
    """One dataset's chip folder and its folder in the dataset, for a batch: chips read by name in the
    one (``tiff/folder_reader.py``) and linked (or written) into the other, both through open folder
    descriptors."""

    def __init__(self, info: DatasetInfo, dest: Path, colors) -> None:
        from geetiles.tiff.cog_reuse import cog_reuse
        from geetiles.tiff.folder_reader import FolderReader

        self.info, self.colors = info, colors
        self.dest = os.fspath(dest)
        self.reuse = cog_reuse(info.bands, info.nodata, colors)
        self.linking = True  # until the file system refuses hard links (another device, no support)
        self.reader = FolderReader(info.folder)
        try:
            self.dest_fd = os.open(self.dest, os.O_RDONLY | os.O_DIRECTORY)
        except BaseException:
            self.reader.close()
            raise

    def close(self) -> None:
        self.reader.close()
        os.close(self.dest_fd)

    def path_of(self, identifier: str) -> str:
        return self.reader.path(f"{identifier}.tif")

    def read(self, identifier: str) -> tuple[bytes | None, str]:
        """A chip's bytes, or None and why not, as ``selection.read_chip_bytes`` says it."""
        from geetiles.export.selection import unreadable_reason

        try:
            return self.reader.read_bytes(f"{identifier}.tif"), ""
        except OSError as error:
            return None, unreadable_reason(self.info, error)

    def write(self, identifier: str, data: bytes) -> tuple:
        """Put one chip into the dataset; its (crs, transform, width, height, sha256). A chip already in
        the export's form (``tiff/cog_reuse.py``) is linked; any other is decoded and re-encoded."""
        import hashlib

        from geetiles.tiff.cog import encode_cog, write_cog
        from geetiles.tiff.reader import chip_of

        name = f"{identifier}.tif"  # plain strings: pathlib cost more per chip than the writing
        grid = self.reuse.reusable(data)
        if grid is not None:
            self._link(name, data)
            return (*grid, hashlib.sha256(data).hexdigest())
        chip = chip_of(data, self.path_of(identifier), all_bands=True)
        nodata = self.info.nodata if self.info.nodata is not None else chip.nodata
        metadata = self.reuse.metadata(data) or None  # the download's request tag is kept
        values, bands = chip.values, list(self.info.bands)
        encoded = encode_cog(values, chip.crs, chip.transform, bands, nodata, self.colors, metadata)
        self.reuse.judge(data, encoded)
        path = os.path.join(self.dest, name)
        if encoded == data:  # the first chip of its kind, judged just now
            self._link(name, data)
            sha = hashlib.sha256(data).hexdigest()
        elif encoded is None:  # GDAL writes it
            sha = write_cog(path, values, chip.crs, chip.transform, bands, nodata, self.colors, metadata, atomic=False)
        else:
            self._replace(name, encoded)
            sha = hashlib.sha256(encoded).hexdigest()
        height, width = values.shape[-2:]
        return chip.crs, chip.transform, width, height, sha

    def _link(self, name: str, data: bytes) -> None:
        """A hard link to the chip's file (its bytes are the dataset's), else the bytes written."""
        if self.linking:
            try:
                os.link(name, name, src_dir_fd=self.reader.descriptor, dst_dir_fd=self.dest_fd)
                return
            except FileExistsError:
                pass  # replaced below, never written through
            except OSError as error:
                import errno

                from geetiles.errors import disk_full

                full = disk_full(error, os.path.join(self.dest, name), self.dest)
                if full is not None:
                    raise full from None
                if error.errno in (errno.EXDEV, errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP):
                    self.linking = False  # this file system (or its policy) refuses links: write from now on
        self._replace(name, data)

    def _replace(self, name: str, data: bytes) -> None:
        """Write ``data`` as a new file ``name``: a name already there may be a link to another folder's
        file (a chip folder's), which writing in place would change too, so it is removed first."""
        from geetiles.tiff.cog import write_in_place

        try:
            os.unlink(name, dir_fd=self.dest_fd)
        except FileNotFoundError:
            pass
        write_in_place(os.path.join(self.dest, name), data)
