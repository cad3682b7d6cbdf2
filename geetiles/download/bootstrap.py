"""Fetching in the driver while a local Ray starts.

Starting a local Ray takes 3-6 s on a small machine, longer than everything else the driver does
before its first request. Rather than idle, the driver runs one DownloadWorker itself, with the
whole global budget (requests in flight and per second), from the moment the plan is ready. When
Ray's workers are up it hands back every chip that has no request on the wire (not started, or
waiting out a backoff) and waits only for the requests in flight, so the global caps hold at every
moment and the hand-over costs about one request's latency.

This thread cannot deadlock Ray's start: Ray's daemons are forked by a separate head process
(``ray_head.py``), which the driver spawned (vfork + exec) before this thread existed, and joining
that head by address starts no process. Finished chips are journaled as they come, so a run that
ends early (Ray did not start, a stall) keeps them.
"""

from __future__ import annotations

import asyncio
import threading

from geetiles.download.job_queue import JobQueue
from geetiles.download.worker import DownloadWorker

POLL_S = 0.05


class Bootstrap:
    def __init__(self, spec, nodata, source, queue: JobQueue, seed: int, ledger, capacity: int, colormap=None) -> None:
        """``spec``: the source's FetcherSpec with the whole global budget; ``source`` gives auth headers;
        ``ledger`` accounts for finished chips (and knows the request fingerprint files are tagged with);
        ``capacity``: chips kept started at once (the rest wait in ``queue``)."""
        self.spec, self.nodata, self.source, self.seed = spec, nodata, source, seed
        self.colormap = colormap  # label chips: their classes' colour table
        self.queue, self.ledger = queue, ledger
        self.capacity = capacity
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="bootstrap", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self, timeout_s: float) -> bool:
        """Hand back the chips not on the wire (to the front of the queue) and wait (at most
        ``timeout_s``) for the requests in flight; False if they are still running then (their chips
        are neither counted nor lost: the next run fetches them)."""
        self._stop.set()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as error:  # reported by the engine; the workers fetch what is left
            self.error = error

    async def _run(self) -> None:
        worker = DownloadWorker()
        worker.configure(self.spec, self.nodata, True, self.seed, self.ledger.request, colormap=self.colormap)
        try:
            while not self._stop.is_set() and not self.ledger.disk_full:
                jobs = self.queue.take(self.capacity - worker.active_chips())
                if jobs:
                    worker.fetcher.headers = await asyncio.to_thread(self.source.auth_headers)
                    worker.start(jobs)
                if not worker.active and not worker.finished:
                    return
                await asyncio.sleep(POLL_S)
                self._account(worker)
            self.queue.put_front(worker.hand_back())
            while worker.active:
                await asyncio.sleep(POLL_S)
            await asyncio.sleep(0)  # let the cancelled chips' callbacks run
            self._account(worker)
        finally:
            await worker.close()

    def _account(self, worker: DownloadWorker) -> None:
        finished, worker.finished = worker.finished, []
        if not finished:
            return
        resend = self.ledger.add([job for job, _ in finished], [result for _, result in finished], True)
        self.queue.put_front(resend.now)
        self.queue.put_back(resend.later)
