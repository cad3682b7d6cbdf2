"""Download workers between two downloads on one Ray: the next download configures the processes the one
before ended with, and a call of the earlier download never takes the next one's chips."""

from __future__ import annotations

import asyncio
import logging

import pytest

from geetiles.download.worker import DownloadWorker
from tests.download import demo_run
from tests.download.ray_processes import download_workers


class _ClosingFetcher:
    closed = False

    async def close(self) -> None:
        self.closed = True


def test_a_worker_rests_only_with_no_chip_in_progress_and_forgets_its_run() -> None:
    worker = DownloadWorker()
    worker.fetcher, worker.request, worker.last_error = _ClosingFetcher(), "abc", "503"
    worker.active = {object(): ("a chip", None)}
    assert asyncio.run(worker.rest()) is False  # the driver ends it instead
    assert worker.fetcher is not None and not worker.fetcher.closed and worker.request == "abc"
    worker.active = {}
    fetcher = worker.fetcher
    assert asyncio.run(worker.rest()) is True
    assert fetcher.closed and worker.fetcher is None and worker.request == "" and worker.last_error == ""


def test_a_call_of_a_download_the_worker_no_longer_serves_gets_nothing_and_starts_nothing() -> None:
    """Ray may start an exchange the previous download's driver sent after that download's rest: it must
    not take (or start) the chips of the download the worker serves now."""

    async def scenario() -> None:
        worker = DownloadWorker()
        worker.fetcher, worker.download = _ClosingFetcher(), "images"
        worker.active = {}
        stale = await worker.exchange([("a chip",)], None, wait_s=5.0, download="labels")
        assert stale.results == [] and stale.unfinished == 0 and worker.active == {}  # nothing started
        waiting = asyncio.create_task(worker.exchange([], None, wait_s=30.0, download="images"))
        await asyncio.sleep(0.05)
        assert await worker.rest() is True
        worker.finished.append(("a chip of the labels", "its result"))  # the next download's chip
        reply = await asyncio.wait_for(waiting, 2.0)  # woken by rest, long before its 30 s
        assert reply.results == [] and worker.finished == [("a chip of the labels", "its result")]

    asyncio.run(scenario())


@pytest.mark.slow
def test_downloads_on_a_ray_the_process_had_configure_the_workers_left_by_the_one_before(
    tmp_path, ray_session, caplog
) -> None:
    """On the session's Ray (a notebook's, in a user's hands): the labels' download takes the images'
    workers, and the next run takes the same processes again; no idle worker piles up."""
    caplog.set_level(logging.INFO, logger="geetiles.download")
    demo_run.run(None, tmp_path / "first", "aoi,tiling,download")
    after_first = download_workers()
    lines = [r.getMessage() for r in caplog.records if "download workers on" in r.getMessage()]
    assert len(lines) == 2 and "(2 kept from the previous download)" in lines[1], lines
    assert len(after_first) == 2  # resting, for this process's next run

    caplog.clear()
    demo_run.run(None, tmp_path / "second", "aoi,tiling,download")
    lines = [r.getMessage() for r in caplog.records if "download workers on" in r.getMessage()]
    assert len(lines) == 2 and all("(2 kept from the previous download)" in line for line in lines), lines
    assert download_workers() == after_first  # the very same processes
    for folder in ("first", "second"):
        tiles = next((tmp_path / folder).glob("*.geojson"))
        for name in demo_run.DATASETS:
            assert demo_run.summary(tiles, name)["done"] == 16
            assert len(demo_run.chips(tiles, name)) == 16
