"""The download engine's driver: plan every chip, skip the ones already on disk, run the rest on
Ray workers under the global caps, and account for every chip (done, skipped or failed).

Nothing here waits without a bound: Ray's start (``ray.start_timeout_s``), the hand-over from the
driver's own fetching, and the wait for workers' results (``download.stall_timeout_s``)."""

from __future__ import annotations

import concurrent.futures
import logging
import math
import threading
import time
from pathlib import Path

from geetiles.download.ledger import DownloadSummary
from geetiles.download.planning import Plan, Planner
from geetiles.download.ray_cluster import RayCluster
from geetiles.download.workforce import Workforce, worker_count
from geetiles.errors import DiskFull, RunFailed
from geetiles.manifest import MANIFEST

log = logging.getLogger("geetiles.download")

__all__ = ["DownloadSummary", "Engine"]


class Engine:
    """One download run; ``run()`` returns its summary or raises RunFailed when chips failed."""

    def __init__(self, experiment, tiles_path: Path, source_config=None, ray_cluster: RayCluster | None = None) -> None:
        self.experiment = experiment
        self.config = experiment.config
        self.tiles_path = tiles_path
        self.source_config = source_config if source_config is not None else experiment.config.source
        self.shared_cluster = ray_cluster  # the caller's Ray (started once for several datasets) or None
        self._dispatcher = None  # the dispatch loop, once running (a salvage adopts what its workers held)
        # a salvage (from a watch thread, the process ends after it) and the run's own ending never write
        # the manifest at once: they share its temporary file
        self._ending = threading.Lock()

    def run(self) -> DownloadSummary:
        from geetiles.download.dispatch import Dispatcher

        started = time.monotonic()
        ray_config = self.config.ray
        ray_cluster = self.shared_cluster or RayCluster(
            ray_config.address, ray_config.num_cpus, ray_config.start_timeout_s
        )
        ray_cluster.launch()  # a local head is spawned before this run starts any thread of its own
        bootstrap = ray_cluster.will_start_local()  # joining a running Ray is quick: nothing to bridge
        ray, workforce, plan, preparing, head_watch = None, None, None, None, None
        ended_cleanly = False
        try:
            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="prepare") as executor:
                planner = Planner(self.config, self.tiles_path, self.source_config)
                preparing = executor.submit(planner.prepare, bootstrap)
                if not self._needs_no_ray(preparing, ray_cluster):
                    try:
                        ray = ray_cluster.connect(salvage=lambda: self._salvage(preparing, started))
                    except RunFailed:
                        if preparing.exception() is not None:  # the user's own error comes first
                            raise preparing.exception() from None
                        raise
                    head_watch = ray_cluster.watch_head(salvage=lambda: self._salvage(preparing, started))
                    count = worker_count(self.config.download, ray_cluster.cpus())
                    workforce = Workforce(ray, count, ray_cluster.resting_workers)
                plan = preparing.result()
            if len(plan.jobs):
                self._dispatcher = Dispatcher(
                    ray, workforce, plan, self.config.download, self._stop_bootstrap, ray_config.start_timeout_s
                )
                self._dispatcher.run()
            ended_cleanly = True
        finally:
            if head_watch is not None:  # before this run's own shutdown stops the head
                head_watch.stop()
            if plan is None and preparing is not None and preparing.done() and preparing.exception() is None:
                plan = preparing.result()  # Ray failed to start after the preparation had succeeded
            try:
                if plan is not None:
                    self._stop_bootstrap(plan)
            finally:
                if workforce is not None:  # a Ray this run did not start (tests, notebooks) keeps running
                    # the labels' download after the images' (or this process's next run, on a Ray it
                    # had before the run) configures these processes instead of starting new ones
                    rest = ended_cleanly and (self.shared_cluster is not None or ray_cluster.joined)
                    workforce.stop(rest_in=ray_cluster.resting_workers if rest else None)
                if self.shared_cluster is None:
                    ray_cluster.shutdown()
                if plan is not None:  # whatever happened, every chip that finished is in manifest.csv
                    with self._ending:
                        plan.summary.elapsed_s = time.monotonic() - started
                        plan.ledger.progress.close()
                        failed, examples = plan.manifest.finalize(plan.chips.identifiers())
                        self._record(plan.directory, plan.summary, plan)
        summary = plan.summary
        log.info("%s", summary.line())
        if plan.ledger.disk_full:  # what finished is journaled (or on disk, adopted by the next run)
            raise DiskFull(plan.ledger.disk_full)
        if failed:
            first = examples[0]["error"] if examples else ""
            raise RunFailed(
                f"{failed} of {plan.total} chips failed (first: {first[:150]}); "
                f"see {plan.directory / 'failures.csv'}; rerun to retry them"
            )
        return summary

    def _needs_no_ray(self, preparing: concurrent.futures.Future, ray_cluster: RayCluster) -> bool:
        """The preparation failed (the user's error comes first), or found nothing left to fetch while
        the local head was still starting: this run leaves Ray alone. A rerun over finished chips
        waited for a head it never used (``bench/rerun.py``). A head that is up first is joined as
        before: a long preparation is not waited for."""
        concurrent.futures.wait([preparing], timeout=0.05)  # bad input often fails at once
        deadline = time.monotonic() + self.config.ray.start_timeout_s
        while not preparing.done() and ray_cluster.head_starting() and time.monotonic() < deadline:
            concurrent.futures.wait([preparing], timeout=0.05)
        if not preparing.done():
            return False
        return preparing.exception() is not None or not len(preparing.result().jobs)

    def _salvage(self, preparing: concurrent.futures.Future, started: float) -> str:
        """The process is about to end (Ray's client hangs, or Ray's head died): stop fetching, record
        the files the workers finished, write the manifest; say what was kept."""
        try:
            plan = preparing.result(timeout=self.config.download.stall_timeout_s)
        except Exception:
            return ""
        try:
            self._stop_bootstrap(plan)
        finally:
            if self._dispatcher is not None:
                self._dispatcher.salvage()
            with self._ending:
                locked = plan.ledger.lock.acquire(timeout=5.0)  # no chip journaled while the journal is folded
                plan.summary.elapsed_s = time.monotonic() - started
                plan.manifest.finalize(plan.chips.identifiers())
                self._record(plan.directory, plan.summary, plan)
                if locked:
                    plan.ledger.lock.release()
        return (
            f"{plan.summary.done} chips finished in this run (and {plan.summary.skipped} before) are kept "
            f"in {plan.directory / MANIFEST}"
        )

    def _stop_bootstrap(self, plan: Plan) -> None:
        bootstrap, plan.bootstrap = plan.bootstrap, None
        if bootstrap is None:
            return
        timeout = self.config.download.stall_timeout_s
        if not bootstrap.finish(timeout):
            raise RunFailed(
                f"the driver's own fetching did not finish within download.stall_timeout_s={timeout:g} s; "
                "finished chips are kept, rerun the same command to resume"
            )
        if bootstrap.error is not None:
            log.warning(
                "the driver's own fetching stopped early (%s: %s); the workers fetch the rest",
                type(bootstrap.error).__name__,
                bootstrap.error,
            )

    def _record(self, directory: Path, summary: DownloadSummary, plan: Plan) -> None:
        from geetiles.record import write_record

        band_names, dtype, nodata = plan.band_names, plan.dtype, plan.nodata
        directory.mkdir(parents=True, exist_ok=True)
        write_record(
            directory / MANIFEST,
            self.experiment,
            stage="download",
            extra={
                "tiles_file": str(self.tiles_path),
                "bands": list(band_names),
                "dtype": str(dtype),
                "nodata": None if nodata is None or (isinstance(nodata, float) and math.isnan(nodata)) else nodata,
                "classes": plan.source.classes(),
                "request": plan.request.fingerprint,
                "requests_held": sorted({*plan.request.history, plan.request.fingerprint}),  # see requests.yaml
                "summary": {
                    "total": summary.total,
                    "done": summary.done,
                    "skipped": summary.skipped,
                    "failed": summary.failed,
                    "retries": summary.retries,
                    "requests": summary.requests,
                    "requeued": summary.requeued,
                    "elapsed_s": round(summary.elapsed_s, 3),
                },
            },
        )
