"""Accounting for every finished chip, from whichever thread finished it (the driver's bootstrap or
the hand-over of a worker's batch): its journal row, the run's counts and the progress display."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from geetiles.download import geotiff
from geetiles.download.messages import ChipJob, ChipResult
from geetiles.errors import DiskFull
from geetiles.manifest import Manifest, chip_row
from geetiles.progress import Progress

log = logging.getLogger("geetiles.download")


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
    requeued: int = 0  # chips handed back to the queue because their worker died (no attempt spent)

    def line(self) -> str:
        rate = self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (
            f"{self.dataset}: {self.done} done, {self.skipped} skipped, {self.failed} failed, "
            f"{self.requeued} requeued, {self.retries} retries, {self.elapsed_s:.1f} s, {rate:.1f} tiles/s "
            f"({self.done} chips in {self.requests} requests) → {self.directory}"
        )


@dataclass
class Resend:
    """Finished chips to fetch again: ``now`` (refused credentials, after a refresh) and ``later``
    (retryable errors past the attempt limit: one more round at the end of the queue, when a
    rate-limit burst or an outage has likely passed)."""

    now: list[ChipJob]
    later: list[ChipJob]


class Ledger:
    def __init__(self, manifest: Manifest, summary: DownloadSummary, progress: Progress, request: str) -> None:
        self.manifest, self.summary, self.progress, self.request = manifest, summary, progress, request
        self.lock = threading.Lock()  # held while journaling: a salvage takes it to fold the journal last
        self._second_round: set[str] = set()  # chips already given their extra round
        self.disk_full = ""  # the first file the full disk refused: the run stops dispatching and ends with it
        self._journal_refused = False
        self._requeues: dict[str, int] = {}  # chips requeued and not yet finished → how often (a few hundred)

    def requeue(self, jobs: list[ChipJob]) -> None:
        """Chips a dead worker held, going back to the queue: counted, and noted on their row."""
        with self.lock:
            for job in jobs:
                self._requeues[job.identifier] = self._requeues.get(job.identifier, 0) + 1
            self.summary.requeued += len(jobs)

    def adopt(self, jobs: list[ChipJob], rows: list[dict]) -> None:
        """Journal as done the chips whose valid file a dead worker wrote before dying (``rows``, one
        per job, made from the file itself)."""
        with self.lock:
            for job, row in zip(jobs, rows):
                row["requeued"] = self._requeues.pop(job.identifier, 0)
            self._journal(rows)
            self.summary.done += len(rows)
            self.progress.update(len(rows), 0, 0)

    def add(self, batch: list[ChipJob], results: list[ChipResult], write_files: bool) -> Resend:
        """Journal and count finished chips; return the ones to fetch again. A chip the full disk
        refused is neither journaled nor counted (the next run fetches it) and sets ``disk_full``."""
        from geetiles.download.fingerprint import grid_fingerprint

        rows, resend = [], Resend([], [])
        done = failed = retries = requests = 0
        for job, result in zip(batch, results):
            requests += result.requests
            retries += result.retries
            if result.status == "unauthenticated":
                resend.now.append(job)
                continue
            if result.status == "exhausted":
                with self.lock:
                    again = job.identifier not in self._second_round
                    self._second_round.add(job.identifier)
                if again:
                    resend.later.append(job)
                    continue
                result = result._replace(status="failed")
            if result.status == "done" and not write_files:
                try:
                    geotiff.write_bytes(job.path, result.data)
                except DiskFull as error:
                    result = result._replace(status="disk_full", error=error.path)
            if result.status == "disk_full":
                self._stop_for_full_disk(result.error)
                continue
            stat = None
            if result.status == "done":
                stat = Path(job.path).stat()
                done += 1
            else:
                failed += 1
            rows.append(
                chip_row(
                    result.identifier,
                    result.status,
                    self.request,
                    grid_fingerprint(job.grid),
                    result.requests,
                    result.nbytes,
                    result.checksum,
                    result.error,
                    result.node,
                    stat,
                )
            )
        with self.lock:
            if self._requeues:
                for row in rows:
                    row["requeued"] = self._requeues.pop(row["identifier"], 0)
            self._journal(rows)
            self.summary.done += done
            self.summary.failed += failed
            self.summary.retries += retries
            self.summary.requests += requests
            self.progress.update(done, failed, retries, requests)
        return resend

    def _journal(self, rows: list[dict]) -> None:
        """Append ``rows`` to the journal; once the full disk refuses it, stop trying (the chips'
        files are on disk: the next run checks and adopts them)."""
        if self._journal_refused:
            return
        try:
            self.manifest.record(rows)
        except DiskFull as error:
            self._journal_refused = True
            self._stop_for_full_disk(error.path)

    def _stop_for_full_disk(self, path: str) -> None:
        if not self.disk_full:
            log.warning(
                "disk full while writing %s: no more chips are started; the run ends once the requests "
                "in flight finish",
                path,
            )
        self.disk_full = self.disk_full or path
