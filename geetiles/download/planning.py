"""The download's planning, run while Ray starts: load the chips, open and probe the source, decide which
chips are still to fetch (resuming from the manifest and the files on disk, refusing or refetching chips
another request made), and prepare the job queue, the ledger and the driver's own fetching.

Why apart from :mod:`geetiles.download.engine` (which runs the plan): everything here happens before the
first chip request and decides *what* is fetched; the engine decides *how* and accounts for the outcome.
"""

from __future__ import annotations

import logging
import math
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.download import geotiff
from geetiles.download.bootstrap import Bootstrap
from geetiles.download.chip_table import ChipTable
from geetiles.download.fingerprint import describe_change, grid_fingerprints, request_fingerprint, request_settings
from geetiles.download.job_queue import JobQueue, JobStream
from geetiles.download.ledger import DownloadSummary, Ledger
from geetiles.download.workforce import worker_count
from geetiles.errors import UserInputError
from geetiles.manifest import Manifest, chip_row
from geetiles.progress import Progress

log = logging.getLogger("geetiles.download")


@dataclass
class Plan:
    """The prepared run: connection, serialised request, band layout, and the chips to fetch."""

    source: object  # the OpenedSource
    directory: Path
    total: int
    chips: ChipTable
    band_names: list[str]
    dtype: np.dtype
    nodata: float | None
    manifest: Manifest
    jobs: JobStream
    skipped: int
    summary: DownloadSummary
    request: Request
    ledger: Ledger | None = None
    queue: JobQueue | None = None  # chips still to hand out, shared with the bootstrap
    bootstrap: Bootstrap | None = None
    chips_per_request: float = 1.0  # >1 when aligned chips are coalesced: shares and batches scale by it

    @property
    def colormap(self):
        """The colour table label chips carry (the export's COGs carry the same), None for imagery."""
        from geetiles.classes import colormap_of

        return colormap_of(self.source.classes(), self.dtype)


def dataset_directory(tiles_path: Path, dataset_name: str) -> Path:
    """``{tiles file without .geojson}/{dataset}``, as geetiles 0.1.7 lays chips out."""
    from geetiles.layout import chips_folder
    from geetiles.names import check_name

    check_name("the dataset name", dataset_name, "it names the chip folder (set source.name or labels.name)")
    return chips_folder(tiles_path, dataset_name)


class Planner:
    """Plans one dataset's download: ``prepare()`` returns the :class:`Plan` the engine runs."""

    def __init__(self, config, tiles_path: Path, source_config) -> None:
        self.config = config
        self.tiles_path = tiles_path
        self.source_config = source_config

    def prepare(self, bootstrap: bool = False) -> Plan:
        """Everything before the first chip request, run while Ray starts: load and plan the chips,
        open the source (for Earth Engine: connect, serialise the image once), probe it, and find
        the chips still to fetch."""
        from geetiles.sources import open_source

        config = self.source_config
        chips = ChipTable(self.tiles_path, self.config.download, config.pixels_lonlat, config.meters_per_pixel)
        source = open_source(self.config, config)
        directory = dataset_directory(self.tiles_path, source.name)
        log.info("dataset %s: %d chips from %s", source.name, len(chips), self.tiles_path.name)
        first = chips.first()
        if first is not None:
            probe = source.probe(first.grids[0])
            band_names, dtype = probe.band_names, probe.array.dtype
        else:
            band_names, dtype = [], np.dtype("uint8")
        nodata = config.nodata
        if nodata is None:
            nodata = 0 if np.issubdtype(dtype, np.integer) else float("nan")
        settings = request_settings(config, source, dtype, band_names, nodata)
        request = Request(request_fingerprint(settings), settings, _request_history(directory))
        manifest = Manifest(directory)
        todo, order, skipped = self._to_fetch(chips, directory, manifest, dtype, len(band_names), request)
        _remove_stale_temporaries(directory)
        if len(todo):
            _remember_request(directory, request)
        self._copy_definition(source, directory)
        download = self.config.download
        jobs = JobStream(chips, directory, todo, order, _cells(download, dtype, len(band_names)))
        per_request = jobs.chips_per_request()
        workers = worker_count(
            download, self.config.ray.num_cpus or os.cpu_count() or 1
        )  # an estimate: Ray may still be starting
        batch = max(1, min(download.batch_size, math.ceil(len(jobs) / per_request / (workers * 2))))
        # small windows for small runs, so every worker has a share; counted in requests (blocks)
        queue = JobQueue(jobs, math.ceil(batch * per_request))
        summary = DownloadSummary(source.name, directory, len(chips), 0, skipped, 0, 0, 0, 0.0)
        plan = Plan(
            source,
            directory,
            len(chips),
            chips,
            band_names,
            dtype,
            nodata,
            manifest,
            jobs,
            skipped,
            summary,
            request,
            None,
            queue,
            None,
            per_request,
        )
        plan.ledger = Ledger(
            manifest, summary, Progress(len(jobs), download.progress, source.name), request.fingerprint
        )
        if bootstrap and len(jobs):
            plan.bootstrap = Bootstrap(
                source.spec(),
                nodata,
                source,
                queue,
                download.seed - 1,
                plan.ledger,
                math.ceil((download.max_in_flight + download.batch_size) * per_request),
                plan.colormap,
            )
            plan.bootstrap.start()
        return plan

    def _to_fetch(
        self, chips: ChipTable, directory: Path, manifest: Manifest, dtype, count: int, request: Request
    ) -> tuple[np.ndarray, np.ndarray | None, int]:
        """A to-fetch flag per chip, the order to fetch them in (None: the table's), and how many
        were skipped. Valid files made by this same request are skipped without a request: a
        journaled chip whose file is untouched (same size and mtime) and whose fingerprint (request
        and pixel grid) matches is trusted without opening it; a chip made by another request is
        fetched again (or, with download.on_change=refuse, the run stops here, nothing changed).
        One window of chips at a time: a byte per chip is all that is kept."""
        todo = np.ones(len(chips), dtype=bool)
        skipped = 0
        if self.config.download.skip_if_exists and directory.exists() and len(chips):
            began = time.monotonic()
            adopted_count, changed = 0, {}
            for window in chips.windows():
                adopted = self._resume_window(window, directory, manifest, dtype, count, request, todo, changed)
                if adopted:
                    manifest.record(adopted)
                    adopted_count += len(adopted)
            if changed:
                self._on_change(changed, request, directory, manifest)
            skipped = len(todo) - int(todo.sum())
            log.info(
                "resume: %d of %d chips already valid (%d trusted from the journal, %d checked and adopted) in %.1f s",
                skipped,
                len(chips),
                skipped - adopted_count,
                adopted_count,
                time.monotonic() - began,
            )
        limit = self.config.download.max_downloads
        if not self.config.download.shuffle:
            if limit is not None and len(todo) - skipped > limit:
                todo[np.flatnonzero(todo)[limit] :] = False
            return todo, None, skipped
        order = list(range(int(todo.sum())))
        random.Random(self.config.download.seed).shuffle(order)
        return todo, np.flatnonzero(todo)[np.asarray(order, dtype=np.int64)][:limit], skipped

    def _resume_window(
        self,
        window,
        directory: Path,
        manifest: Manifest,
        dtype,
        count: int,
        request: Request,
        todo: np.ndarray,
        changed: dict[str, int],
    ) -> list[dict]:
        """Clear the to-fetch flag of this window's chips already valid; count the chips made by
        another request in ``changed``; return rows for valid files nobody journaled.

        A journaled chip is trusted unopened only with its checksum (what the export verifies it by);
        any other file (0.1.7's, copied in, written by a run killed before it journaled, or adopted
        by a geetiles that recorded no checksum) is read once, checked, and adopted with the checksum
        of the bytes read, so the export accepts it as it accepts a downloaded chip."""
        known = manifest.lookup(window.identifiers)
        grid_prints = grid_fingerprints(window.grids)
        adopted = []
        for i in range(len(window)):
            identifier = window.identifiers[i]
            path = directory / f"{identifier}.tif"
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                continue
            if manifest.untouched(known, i, stat) and known["request"][i] and known["checksum"][i]:
                if known["request"][i] == request.fingerprint and known["grid"][i] == grid_prints[i]:
                    todo[window.start + i] = False
                else:
                    changed[known["request"][i]] = changed.get(known["request"][i], 0) + 1
                continue
            found = geotiff.examine(path, _expected(window.grids[i], dtype, count, request.fingerprint))
            if found.state == "valid":  # a valid file nobody journaled (copied in, 0.1.7, a killed batch): adopt it
                todo[window.start + i] = False
                adopted.append(
                    chip_row(
                        identifier,
                        "done",
                        request.fingerprint,
                        grid_prints[i],
                        nbytes=found.stat.st_size,
                        checksum=found.checksum,
                        stat=found.stat,
                    )
                )
            elif found.state == "changed":
                changed[found.request] = changed.get(found.request, 0) + 1
        return adopted

    def _on_change(self, changed: dict[str, int], request: Request, directory: Path, manifest: Manifest) -> None:
        """Chips on disk made by another request: say so in one line; refetch them, or refuse
        (then the rows this run journaled while deciding are taken back: the folder is as it was)."""
        count = sum(changed.values())
        old = max(changed, key=changed.__getitem__)
        what = describe_change(request.history.get(old), request.settings)
        if self.config.download.on_change.value == "refuse":
            manifest.discard()
            raise UserInputError(
                f"{count} chips in {directory} were made with other settings ({what}); "
                "download.on_change=refuse keeps the folder as it is: use another source.name, "
                "restore the settings, or set download.on_change=refetch"
            )
        log.warning("%d chips on disk were made with other settings (%s): fetching them again", count, what)

    def _copy_definition(self, source, directory: Path) -> None:
        if source.source_file is not None:
            directory.mkdir(parents=True, exist_ok=True)
            from geetiles.atomic import atomic_path

            with atomic_path(directory / "dataset_def.py") as tmp:
                shutil.copyfile(source.source_file, tmp)


@dataclass
class Request:
    """What this run asks for every chip (besides its grid), and what the folder held before."""

    fingerprint: str
    settings: dict
    history: dict  # fingerprint → settings, from the folder's run record


REQUESTS = "requests.yaml"  # the requests a dataset folder has held: fingerprint → settings


def _request_history(directory: Path) -> dict:
    """The requests this dataset folder has held, by fingerprint."""
    import yaml

    try:
        history = yaml.safe_load((directory / REQUESTS).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return dict(history) if isinstance(history, dict) else {}


def _remember_request(directory: Path, request: Request) -> None:
    """Add this run's request to the folder's history before its first chip is written, so a run
    killed midway still explains its chips to the next one."""
    from geetiles.atomic import write_text
    from geetiles.record import yaml_text

    if request.fingerprint not in request.history:
        directory.mkdir(parents=True, exist_ok=True)
        history = {**request.history, request.fingerprint: request.settings}
        write_text(directory / REQUESTS, yaml_text(history))


def _cells(download, dtype, band_count: int):
    """The cell of each chip under ``download.coalesce`` and Earth Engine's limits (None: off)."""
    from functools import partial

    from geetiles.download.blocks import cell_keys, coalesce_side
    from geetiles.sources.ee_sizing import bytes_per_pixel

    side = coalesce_side(download.coalesce, download.max_pixels_per_side)
    if side is None:
        return None
    per_pixel = bytes_per_pixel([np.dtype(dtype).itemsize] * max(1, band_count))
    return partial(cell_keys, side=side, bytes_per_pixel=per_pixel, max_bytes=download.max_request_bytes)


def _expected(grid, dtype, count: int, request: str = "") -> geotiff.Expected:
    return geotiff.Expected(grid.width, grid.height, count, str(np.dtype(dtype)), grid.crs, grid.transform, request)


def _remove_stale_temporaries(directory: Path) -> None:
    """Temporary files of a killed run (never renamed into place) are garbage."""
    if directory.exists():
        for stale in directory.glob(".*.tmp*"):
            stale.unlink(missing_ok=True)
