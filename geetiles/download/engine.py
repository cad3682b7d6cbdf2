"""The download engine's driver: plan every chip, skip the ones already on disk, run the rest on
Ray workers under the global caps, and account for every chip (done, skipped or failed)."""

from __future__ import annotations

import concurrent.futures
import logging
import math
import os
import threading
import random
import shutil
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geetiles.download import geotiff
from geetiles.download.bootstrap import Bootstrap
from geetiles.download.grids import irregular, plan_grids
from geetiles.fetching.grid import PixelGrid
from geetiles.download.limits import shares
from geetiles.download.manifest import MANIFEST, Manifest
from geetiles.download.progress import Progress
from geetiles.download.ray_cluster import RayCluster
from geetiles.download.worker import ChipJob, ChipResult, DownloadWorker
from geetiles.errors import RunFailed, UserInputError

log = logging.getLogger("geetiles.download")

OUTSTANDING_BATCHES = 2  # per worker, so a worker never waits for its next batch


@dataclass
class Plan:
    """The prepared run: connection, serialised request, band layout, and the chips to fetch."""

    source: object  # the OpenedSource
    directory: Path
    total: int
    identifiers: set
    band_names: list[str]
    dtype: np.dtype
    nodata: float | None
    manifest: Manifest
    jobs: _LazyJobs
    skipped: int
    queue: deque = None  # slices of jobs (or lists of jobs to retry), shared with the bootstrap
    queue_lock: threading.Lock = None
    bootstrap: Bootstrap | None = None


@dataclass
class DownloadSummary:
    dataset: str
    directory: Path
    total: int
    done: int
    skipped: int
    failed: int
    retries: int
    requests: int
    elapsed_s: float

    def line(self) -> str:
        rate = self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (f"{self.dataset}: {self.done} done, {self.skipped} skipped, {self.failed} failed, "
                f"{self.retries} retries, {self.elapsed_s:.1f} s, {rate:.1f} tiles/s → {self.directory}")


def select_chips(chips, download):
    """Apply ``download.groups`` and ``download.aoi`` filters (the original's --groups, --aoi)."""
    if download.groups:
        if "group" not in chips.columns:
            raise UserInputError(f"download.groups={list(download.groups)} but the tiles file has no 'group' column")
        chips = chips[chips["group"].astype(str).isin([str(g) for g in download.groups])]
    if download.aoi:
        from geetiles.aoi.countries import find_region

        _, region = find_region(download.aoi)
        chips = chips[shapely.intersects(chips.geometry.values, region)]
    return chips.reset_index(drop=True)


def dataset_directory(tiles_path: Path, dataset_name: str) -> Path:
    """``{tiles file without .geojson}/{dataset}``, as geetiles 0.1.7 lays chips out."""
    if not dataset_name or "/" in dataset_name or "\\" in dataset_name or dataset_name in (".", ".."):
        raise UserInputError(f"dataset name {dataset_name!r} cannot be a folder name; set source.name to a plain name")
    return tiles_path.with_suffix("") / dataset_name


class Engine:
    """One download run; ``run()`` returns its summary or raises RunFailed when chips failed."""

    def __init__(self, experiment, tiles_path: Path, source_config=None, ray_cluster: RayCluster | None = None) -> None:
        self.experiment = experiment
        self.config = experiment.config
        self.tiles_path = tiles_path
        self.source_config = source_config if source_config is not None else experiment.config.source
        self.shared_cluster = ray_cluster  # the caller's Ray (started once for several datasets) or None

    def run(self) -> DownloadSummary:
        started = time.monotonic()
        ray_cluster = self.shared_cluster or RayCluster(self.config.ray.address, self.config.ray.num_cpus)
        ray, actors, plan, preparing = None, [], None, None
        bootstrap = ray_cluster.will_start_local()  # joining a running Ray is quick: nothing to bridge
        try:
            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="prepare") as executor:
                preparing = executor.submit(self._prepare, bootstrap)
                concurrent.futures.wait([preparing], timeout=0.05)  # bad input often fails at once
                if not (preparing.done() and preparing.exception() is not None):
                    ray = ray_cluster.connect()
                    actors = self._start_workers(ray, ray_cluster)
                plan = preparing.result()
            summary = DownloadSummary(plan.source.name, plan.directory, plan.total, 0, plan.skipped, 0, 0, 0, 0.0)
            if plan.jobs:
                self._dispatch(ray, actors, plan, summary)
            failures = plan.manifest.finalize()
            summary.elapsed_s = time.monotonic() - started
            self._record(plan.directory, summary, plan)
        finally:
            if plan is None and preparing is not None and preparing.done() and preparing.exception() is None:
                plan = preparing.result()  # Ray failed to start after the preparation had succeeded
            if plan is not None and plan.bootstrap is not None:
                plan.bootstrap.finish()  # never leave the driver's own fetching running
            for actor in actors:  # a Ray this run did not start (tests, notebooks) keeps running
                ray.kill(actor)
            if self.shared_cluster is None:
                ray_cluster.shutdown()
        log.info("%s", summary.line())
        failed_now = [f for f in failures if f["identifier"] in plan.identifiers]
        if failed_now:
            raise RunFailed(f"{len(failed_now)} of {plan.total} chips failed; see {plan.directory / 'failures.csv'}")
        return summary

    def _worker_count(self, cpus: int) -> int:
        download = self.config.download
        return max(1, min(download.actors or min(4, cpus), download.max_in_flight))

    def _start_workers(self, ray, ray_cluster: RayCluster) -> list:
        count = self._worker_count(ray_cluster.cpus())
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))
        log.info("%d download workers on %d Ray node(s)", count, len(nodes))
        actor_class = ray.remote(DownloadWorker)
        # round-robin over the nodes, so every machine does its share; hard affinity because soft
        # affinity fell back to the head node while a new node was still starting its workers
        return [
            actor_class.options(num_cpus=0, max_concurrency=1000, scheduling_strategy=NodeAffinitySchedulingStrategy(
                node_id=nodes[i % len(nodes)], soft=False)).remote()
            for i in range(count)
        ]

    def _prepare(self, bootstrap: bool = False) -> Plan:
        """Everything before the first chip request, run while Ray starts: load and plan the chips,
        open the source (for Earth Engine: connect, serialise the image once), probe it, and find
        the chips still to fetch."""
        from geetiles.sources import open_source
        from geetiles.tiles_file import load_tiles

        config = self.source_config
        chips = select_chips(load_tiles(self.tiles_path), self.config.download)
        grids = plan_grids(chips, config.pixels_lonlat, config.meters_per_pixel) if len(chips) else []
        source = open_source(self.config, config)
        directory = dataset_directory(self.tiles_path, source.name)
        log.info("dataset %s: %d chips from %s", source.name, len(chips), self.tiles_path.name)
        if grids:
            probe = source.probe(grids[0])
            band_names, dtype = probe.band_names, probe.array.dtype
        else:
            band_names, dtype = [], np.dtype("uint8")
        nodata = config.nodata
        if nodata is None:
            nodata = 0 if np.issubdtype(dtype, np.integer) else float("nan")
        manifest = Manifest(directory)
        _remove_stale_temporaries(directory)
        todo, skipped = self._to_fetch(chips, grids, directory, manifest, dtype, len(band_names))
        self._copy_definition(source, directory)
        jobs = _LazyJobs(chips, grids, directory, todo)
        download = self.config.download
        workers = self._worker_count(self.config.ray.num_cpus or os.cpu_count() or 1)  # an estimate: Ray may still be starting
        batch = max(1, min(download.batch_size, math.ceil(len(jobs) / (workers * OUTSTANDING_BATCHES))))
        queue = deque(slice(i, i + batch) for i in range(0, len(jobs), batch))  # small runs still use every worker
        plan = Plan(source, directory, len(chips), set(chips["identifier"]), band_names, dtype, nodata, manifest,
                    jobs, skipped, queue, threading.Lock())
        if bootstrap and jobs:
            plan.bootstrap = Bootstrap(source.spec(), nodata, source, queue, jobs, plan.queue_lock, download.seed - 1)
            plan.bootstrap.start()
        return plan

    def _to_fetch(self, chips, grids, directory: Path, manifest: Manifest, dtype, count: int) -> tuple[list[int], int]:
        """Indices of chips to request; valid files already present are skipped without a request."""
        indices = list(range(len(chips)))
        skipped = 0
        if self.config.download.skip_if_exists and directory.exists():
            todo = []
            for i in indices:
                identifier = chips["identifier"].iat[i]
                path = directory / f"{identifier}.tif"
                if manifest.recorded_valid(identifier, path) or (path.exists() and geotiff.is_valid(path, _expected(grids[i], dtype, count))):
                    skipped += 1
                else:
                    todo.append(i)
            indices = todo
        if self.config.download.shuffle:
            random.Random(self.config.download.seed).shuffle(indices)
        if self.config.download.max_downloads is not None:
            indices = indices[: self.config.download.max_downloads]
        return indices, skipped


    def _dispatch(self, ray, actors, plan: Plan, summary) -> None:
        download = self.config.download
        jobs, session, manifest = plan.jobs, plan.source, plan.manifest
        write_files = download.write_on.value == "worker"
        in_flight_shares = shares(download.max_in_flight, len(actors), True)
        rate_shares = shares(download.max_requests_per_s, len(actors), False)
        spec = plan.source.spec()
        ray.get([
            actor.configure.remote(spec.share(in_flight, rate), plan.nodata, write_files, download.seed + index)
            for index, (actor, in_flight, rate) in enumerate(zip(actors, in_flight_shares, rate_shares))
        ])
        queue = plan.queue
        progress = Progress(len(jobs), download.progress, summary.dataset)
        pending = {}
        reauthenticated = False

        def submit(actor_index: int) -> None:
            with plan.queue_lock:
                batch = queue.popleft() if queue else None
            if batch is not None:
                batch = jobs[batch] if isinstance(batch, slice) else batch
                pending[actors[actor_index].run_batch.remote(batch, session.auth_headers())] = (actor_index, batch)

        try:
            if plan.bootstrap is not None:  # hand over: the driver's own batches finish before workers start
                for batch, results in plan.bootstrap.finish():
                    self._account(results, batch, manifest, summary, progress, True, requeue=queue)
            for actor_index in range(len(actors)):
                for _ in range(OUTSTANDING_BATCHES):
                    submit(actor_index)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=5.0)
                for ref in ready:
                    actor_index, batch = pending.pop(ref)
                    try:
                        results: list[ChipResult] = ray.get(ref)
                    except ray.exceptions.RayError as error:  # a worker died: its chips are failed, not lost
                        message = f"worker failed: {type(error).__name__}: {' '.join(str(error).split())[:200]}"
                        results = [ChipResult(job.identifier, "failed", 0, 0, 0, "", message, None) for job in batch]
                    retry = [job for job, result in zip(batch, results) if result.status == "unauthenticated"]
                    if retry:
                        if reauthenticated:
                            raise UserInputError(f"Earth Engine keeps refusing the credentials ({retry and results[0].error}); "
                                                 "run `earthengine authenticate` or check ee.credentials")
                        reauthenticated = True
                        session.force_refresh()
                        queue.appendleft(retry)
                    self._account(results, batch, manifest, summary, progress, write_files)
                    submit(actor_index)
        finally:
            progress.close()

    def _account(self, results, batch, manifest, summary, progress, write_files: bool, requeue=None) -> None:
        rows = []
        done = failed = retries = 0
        for job, result in zip(batch, results):
            summary.requests += result.requests
            retries += result.retries
            if result.status == "unauthenticated":
                if requeue is not None:
                    requeue.appendleft([job])
                continue
            row = {"identifier": result.identifier, "status": result.status, "attempts": result.requests,
                   "bytes": result.nbytes, "checksum": result.checksum, "error": result.error, "node": result.node}
            if result.status == "done":
                if not write_files:
                    geotiff.write_bytes(job.path, result.data)
                stat = Path(job.path).stat()
                row.update(file_size=stat.st_size, file_mtime_ns=stat.st_mtime_ns)
                done += 1
            else:
                failed += 1
            rows.append(row)
        manifest.record(rows)
        summary.done += done
        summary.failed += failed
        summary.retries += retries
        progress.update(done, failed, retries)

    def _copy_definition(self, source, directory: Path) -> None:
        if source.source_file is not None:
            directory.mkdir(parents=True, exist_ok=True)
            from geetiles.atomic import atomic_path

            with atomic_path(directory / "dataset_def.py") as tmp:
                shutil.copyfile(source.source_file, tmp)

    def _record(self, directory: Path, summary: DownloadSummary, plan: Plan) -> None:
        from geetiles.record import write_record

        band_names, dtype, nodata = plan.band_names, plan.dtype, plan.nodata
        directory.mkdir(parents=True, exist_ok=True)
        write_record(directory / MANIFEST, self.experiment, stage="download", extra={
            "tiles_file": str(self.tiles_path), "bands": list(band_names), "dtype": str(dtype),
            "nodata": None if nodata is None or (isinstance(nodata, float) and math.isnan(nodata)) else nodata,
            "classes": plan.source.classes(),
            "summary": {"total": summary.total, "done": summary.done, "skipped": summary.skipped,
                        "failed": summary.failed, "retries": summary.retries, "requests": summary.requests,
                        "elapsed_s": round(summary.elapsed_s, 3)},
        })


class _LazyJobs:
    """The chips to fetch as indices; ChipJobs are built a batch at a time, when sent."""

    def __init__(self, chips, grids, directory: Path, todo: list[int]) -> None:
        self.identifiers = chips["identifier"].to_numpy()
        self.geometry = chips.geometry.values
        self.needs_mask = irregular(chips) if len(chips) else np.zeros(0, bool)
        self.grids, self.directory, self.todo = grids, directory, np.asarray(todo, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.todo)

    def __getitem__(self, window: slice) -> list[ChipJob]:
        return [
            ChipJob(self.identifiers[i], self.grids[i], str(self.directory / f"{self.identifiers[i]}.tif"),
                    shapely.to_wkb(self.geometry[i]) if self.needs_mask[i] else None)
            for i in self.todo[window].tolist()
        ]


def _expected(grid: PixelGrid, dtype, count: int) -> geotiff.Expected:
    return geotiff.Expected(grid.width, grid.height, count, str(np.dtype(dtype)), grid.crs, grid.transform)


def _remove_stale_temporaries(directory: Path) -> None:
    """Temporary files of a killed run (never renamed into place) are garbage."""
    if directory.exists():
        for stale in directory.glob(".*.tmp*"):
            stale.unlink(missing_ok=True)
