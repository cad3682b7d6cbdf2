"""Chips flow one by one between the driver and a worker: a slow chip holds back nobody, a hand-over
gives back exactly the chips that are not on the wire, and chips that exhaust their retries get one
more round. No Ray here: the worker is a plain object on an event loop, its fetcher a fake."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np

from geetiles.download.bootstrap import Bootstrap
from geetiles.download.job_queue import JobQueue
from geetiles.download.ledger import DownloadSummary, Ledger
from geetiles.download.messages import ChipJob, ChipResult
from geetiles.download.worker import DownloadWorker
from geetiles.fetching.grid import PixelGrid, Pixels
from geetiles.fetching.outcome import RetriesExhausted
from geetiles.manifest import Manifest
from geetiles.progress import Progress


class SlowFetcher:
    """Answers each chip after ``delay_s`` (``slow`` chips after ``slow_s``), ``in_flight`` at a time."""

    def __init__(
        self,
        delay_s: float = 0.02,
        slow: frozenset = frozenset(),
        slow_s: float = 5.0,
        in_flight: int = 4,
        exhausted: frozenset = frozenset(),
    ) -> None:
        self.delay_s, self.slow, self.slow_s, self.exhausted = delay_s, slow, slow_s, exhausted
        self.headers: dict = {}
        self.semaphore = asyncio.Semaphore(in_flight)
        self.requests: list[str] = []

    async def fetch(self, grid: PixelGrid, tally) -> Pixels:
        key = f"{grid.transform[2]:.0f}"
        async with self.semaphore:
            tally.requests += 1
            tally.in_request = True
            self.requests.append(key)
            try:
                await asyncio.sleep(self.slow_s if key in self.slow else self.delay_s)
            finally:
                tally.in_request = False
        if key in self.exhausted:
            raise RetriesExhausted("gave up after 10 attempts: 503")
        return Pixels(np.zeros((1, 2, 2), np.uint8), ["b"])

    async def close(self) -> None:
        return None


class SlowSpec:
    def __init__(self, **options) -> None:
        self.options = options
        self.fetchers: list[SlowFetcher] = []

    def create(self, seed: int) -> SlowFetcher:
        fetcher = SlowFetcher(**self.options)
        self.fetchers.append(fetcher)
        return fetcher


def jobs(folder: Path, count: int) -> list[ChipJob]:
    return [
        ChipJob(
            f"chip{i:04d}",
            PixelGrid("EPSG:4326", (1e-4, 0, float(i), 0, -1e-4, 50.0), 2, 2),
            str(folder / f"chip{i:04d}.tif"),
            None,
        )
        for i in range(count)
    ]


def test_a_slow_chip_does_not_hold_back_the_others(tmp_path):
    async def scenario():
        worker = DownloadWorker()
        # the others take ~0.15 s; the wait returns as soon as they are in, so its bound is generous (a busy machine)
        worker.configure(SlowSpec(slow=frozenset({"0"}), slow_s=300.0), 0, True)
        first = await worker.exchange(jobs(tmp_path, 20), {}, wait_s=60.0, enough=19)
        assert {r.identifier for r in first.results} == {f"chip{i:04d}" for i in range(1, 20)}  # all but the slow one
        assert first.unfinished == 1
        nothing = await worker.exchange([], None, wait_s=0.1)  # the slow chip is still out: an empty answer, on time
        assert nothing.results == [] and nothing.unfinished == 1
        for task in list(worker.active):
            task.cancel()
        await asyncio.sleep(0)

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_hand_back_returns_exactly_the_chips_not_on_the_wire(tmp_path):
    async def scenario():
        worker = DownloadWorker()
        worker.configure(SlowSpec(delay_s=0.2, in_flight=3), 0, True)
        worker.start(jobs(tmp_path, 10))
        await asyncio.sleep(0.05)  # three requests on the wire, seven waiting for a slot
        returned = worker.hand_back()
        assert len(returned) == 7
        while worker.active:
            await asyncio.sleep(0.01)
        finished = {result.identifier for _, result in worker.finished}
        assert len(finished) == 3 and finished.isdisjoint(job.identifier for job in returned)

    asyncio.run(asyncio.wait_for(scenario(), 20))


def _ledger(folder: Path, total: int) -> Ledger:
    return Ledger(
        Manifest(folder), DownloadSummary("d", folder, total, 0, 0, 0, 0, 0, 0.0), Progress(total, "none", "d"), "r"
    )


def test_a_bootstrap_hand_over_counts_every_chip_once(tmp_path):
    """Stopped mid-run, the driver's bootstrap journals what it finished and gives back the rest:
    together exactly the chips it was given, none twice (a chip finished but not yet collected
    when the hand-over came was once both counted and given back)."""
    for attempt in range(5):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        chips = jobs(folder, 600)
        queue = JobQueue(chips, 16)
        ledger = _ledger(folder, len(chips))
        bootstrap = Bootstrap(SlowSpec(delay_s=0.03, in_flight=40), 0, _NoAuth(), queue, 0, ledger, capacity=60)
        bootstrap.start()
        threading.Event().wait(0.15 + 0.05 * attempt)
        assert bootstrap.finish(10)
        left = queue.take(10_000)
        done = ledger.summary.done
        identifiers = [job.identifier for job in left]
        assert len(identifiers) == len(set(identifiers))
        assert done + len(left) == len(chips), (done, len(left))
        assert 0 < done < len(chips)


def test_chips_that_exhaust_their_retries_get_one_more_round_then_fail(tmp_path):
    ledger = _ledger(tmp_path, 2)
    chip = jobs(tmp_path, 1)
    exhausted = ChipResult(chip[0].identifier, "exhausted", 10, 9, 0, "", "gave up after 10 attempts: 503", None)
    resend = ledger.add(chip, [exhausted], True)
    assert resend.later == chip and resend.now == [] and ledger.summary.failed == 0
    resend = ledger.add(chip, [exhausted], True)
    assert resend.later == [] and ledger.summary.failed == 1 and ledger.summary.retries == 18


def test_the_worker_reports_exhausted_retries_as_such(tmp_path):
    async def scenario():
        worker = DownloadWorker()
        worker.configure(SlowSpec(exhausted=frozenset({"1"})), 0, True)
        reply = await worker.exchange(jobs(tmp_path, 3), {}, wait_s=5.0, enough=3)
        return {result.identifier: result.status for result in reply.results}

    assert asyncio.run(scenario()) == {"chip0000": "done", "chip0001": "exhausted", "chip0002": "done"}


class _NoAuth:
    def auth_headers(self) -> dict:
        return {}
