"""Fetching in the driver while a local Ray starts.

Starting a local Ray takes 3-5 s on a small machine, longer than everything else the driver does
before its first request. Rather than idle, the driver runs one DownloadWorker itself, with the
whole global budget (requests in flight and per second), from the moment the plan is ready. When
Ray's workers are up it stops taking batches and finishes the ones it has before the workers get
their shares, so the global caps hold at every moment.

This thread cannot deadlock Ray's start: Ray's daemons are forked by a separate head process
(``ray_head.py``), which the driver spawned (vfork + exec) before this thread existed, and joining
that head by address starts no process. Each finished batch is journaled at once, so a run that
ends early (Ray did not start, a stall) keeps it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from geetiles.download.worker import ChipJob, DownloadWorker

CONCURRENT_BATCHES = 2


class Bootstrap:
    def __init__(self, spec, nodata, source, queue: deque, jobs, lock: threading.Lock, seed: int, ledger) -> None:
        """``spec``: the source's FetcherSpec with the whole global budget; ``source`` gives auth headers;
        ``ledger`` accounts for finished batches (and knows the request fingerprint files are tagged with)."""
        self.spec, self.nodata, self.source, self.seed = spec, nodata, source, seed
        self.queue, self.jobs, self.lock, self.ledger = queue, jobs, lock, ledger
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="bootstrap", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self, timeout_s: float) -> bool:
        """Stop taking batches and wait (at most ``timeout_s``) for the running ones; False if they
        are still running then (their chips are neither counted nor lost: the next run fetches them)."""
        self._stop.set()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as error:  # reported by the engine; the workers fetch what is left
            self.error = error

    def _take(self) -> list[ChipJob] | None:
        with self.lock:
            if self._stop.is_set() or not self.queue:
                return None
            window = self.queue.popleft()
        return self.jobs[window] if isinstance(window, slice) else window

    async def _run(self) -> None:
        worker = DownloadWorker()
        worker.configure(self.spec, self.nodata, True, self.seed, self.ledger.request)
        running: set[asyncio.Task] = set()
        try:
            while True:
                while len(running) < CONCURRENT_BATCHES and (batch := self._take()) is not None:
                    running.add(asyncio.create_task(self._one(worker, batch)))
                if not running:
                    return
                _, running = await asyncio.wait(running, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            await worker.close()

    async def _one(self, worker: DownloadWorker, batch: list[ChipJob]) -> None:
        headers = await asyncio.to_thread(self.source.auth_headers)
        results = await worker.run_batch(batch, headers)
        resend = self.ledger.add(batch, results, True)
        if resend:
            with self.lock:
                self.queue.appendleft(resend)
