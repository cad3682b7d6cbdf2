"""A download worker's process SIGKILLed mid-run (a preempted node, the OOM killer): it is replaced,
its chips go back to the queue without losing an attempt, files it wrote are adopted, and the run
completes with every chip once and the caps held. On the session's local Ray, in-process."""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from geetiles.download import geotiff
from geetiles.download.adoption import adoptable_rows
from geetiles.download.dispatch import Dispatcher
from geetiles.download.job_queue import JobQueue
from geetiles.download.ledger import DownloadSummary, Ledger
from geetiles.download.messages import ChipJob
from geetiles.download.workforce import PLACE_TIMEOUT_S
from geetiles.fetching.grid import PixelGrid
from geetiles.manifest import Manifest
from geetiles.progress import Progress
from tests.download.faults import (
    JournalSpy,
    assert_every_chip_once,
    manifest_rows,
    max_in_any_window,
    rate_bound,
    when_files,
)
from tests.download.helpers import credentials_file, dataset_dir, download, make_tiles
from tests.download.ray_processes import download_workers
from tests.fake_ee.fixtures import fake_ee  # noqa: F401

IN_FLIGHT, RATE = 8, 40
LATENCY_S, SHORT_HANDED_LATENCY_S = 0.15, 2.0


@pytest.mark.long
@pytest.mark.slow
def test_a_worker_killed_mid_run_is_replaced_and_every_chip_arrives_once(
    tmp_path,
    fake_ee,  # noqa: F811
    ray_session,
    monkeypatch,
    caplog,
):
    caplog.set_level(logging.INFO, logger="geetiles.download")
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.15, 49.7))
    credentials = credentials_file(tmp_path, fake_ee)
    fake_ee.latency_s = LATENCY_S
    spy = JournalSpy(monkeypatch)
    killed: list[tuple[int, float]] = []

    def kill_one_worker() -> None:
        workers = download_workers()
        if workers:
            # while the pool is one worker short the endpoint answers slower, so the run outlasts the
            # replacement's start: Ray starts an actor in 0.4 s on a quiet machine, 20 s on a busy one
            fake_ee.latency_s = SHORT_HANDED_LATENCY_S
            os.kill(workers[0], signal.SIGKILL)  # the process, not a Python exception in it
            killed.append((workers[0], time.monotonic()))
            deadline = time.monotonic() + PLACE_TIMEOUT_S
            while time.monotonic() < deadline and not any("replaced on node" in r.getMessage() for r in caplog.records):
                time.sleep(0.05)
            fake_ee.latency_s = LATENCY_S

    directory = dataset_dir(tiles)
    killer = when_files(directory, 40, kill_one_worker)
    started = time.monotonic()
    download(
        tiles,
        fake_ee,
        credentials,
        f"download.max_in_flight={IN_FLIGHT}",
        f"download.max_requests_per_s={RATE}",
        "download.max_attempts=3",
        "download.batch_size=8",
    )
    assert time.monotonic() - started < 60
    killer.join(5)
    assert killed, "no download worker process was found to kill"

    rows = assert_every_chip_once(tiles, directory)
    assert spy.duplicates() == []  # each chip journaled exactly once
    record = yaml.safe_load((directory / "manifest.geetiles.yaml").read_text())["summary"]
    assert record["failed"] == 0 and record["done"] == len(rows)
    assert sum(int(r["requeued"]) for r in rows) == record["requeued"]
    assert all(int(r["attempts"]) <= 3 for r in rows)
    messages = [r.getMessage() for r in caplog.records]
    assert any("died" in m and "replacing it" in m for m in messages), messages
    # the dead worker held chips: each went back to the queue or, its file already written (a busy
    # machine lets a worker finish its chips before it reports them), was adopted
    taken_back = [m for m in messages if "back in the queue" in m and "finished files adopted" in m]
    assert len(taken_back) == 1, messages
    held, back, adopted = (
        int(n) for n in re.findall(r"(\d+) chips: (\d+) back in the queue, (\d+) finished", taken_back[0])[0]
    )
    assert held > 0 and back + adopted == held and back == record["requeued"]
    replaced = [m for m in messages if "replaced on node" in m]
    # a new worker within the placement bound (bench/worker_kill.py measures how soon on a quiet machine)
    assert replaced and float(replaced[0].rsplit(" in ", 1)[1].split()[0]) < PLACE_TIMEOUT_S
    assert fake_ee.max_in_flight <= IN_FLIGHT
    assert max_in_any_window(fake_ee.request_times) <= rate_bound(RATE)


def _chip_job(folder, index: int) -> ChipJob:
    grid = PixelGrid("EPSG:4326", (1e-4, 0.0, 6.0 + index * 0.01, 0.0, -1e-4, 50.0), 4, 4)
    return ChipJob(f"chip{index:09d}", grid, str(folder / f"chip{index:09d}.tif"), None)


def test_a_dead_workers_finished_file_is_adopted_and_the_rest_requeued_in_front(tmp_path):
    """The files a worker wrote before dying, unreported: a whole, right one is journaled done with
    the file's own checksum; a truncated one, a missing one and one of another request are fetched
    again, first in line; the dead worker's temporary file is removed."""
    jobs = [_chip_job(tmp_path, i) for i in range(4)]
    pixels = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    for job, request in ((jobs[0], "req"), (jobs[1], "req"), (jobs[3], "other")):
        geotiff.write_bytes(
            job.path, geotiff.encode(pixels, job.grid.crs, job.grid.transform, ["r", "g", "b"], 0, request)
        )
    good = open(jobs[0].path, "rb").read()
    with open(jobs[1].path, "r+b") as f:
        f.truncate(100)
    stale_tmp = tmp_path / f".{jobs[2].identifier}.tmp4242.tif"
    stale_tmp.write_bytes(b"half")
    rows = adoptable_rows(jobs, 3, "uint8", "req", "node-a", 4242)
    assert [row is not None for row in rows] == [True, False, False, False]
    assert not stale_tmp.exists()

    manifest = Manifest(tmp_path)
    summary = DownloadSummary("d", tmp_path, 5, 0, 0, 0, 0, 0, 0.0)
    queue = JobQueue([_chip_job(tmp_path, 9)], 8)
    dispatcher = Dispatcher.__new__(Dispatcher)
    dispatcher.plan = SimpleNamespace(ledger=Ledger(manifest, summary, Progress(5, "none", "d"), "req"), queue=queue)
    dispatcher._take_back(0, jobs, rows)
    assert [job.identifier for job in queue.take(3)] == [j.identifier for j in jobs[1:]]  # in front of chip 9
    assert summary.requeued == 3 and summary.done == 1
    manifest.finalize()
    journaled = {row["identifier"]: row for row in manifest_rows(tmp_path)}
    assert list(journaled) == [jobs[0].identifier]
    row = journaled[jobs[0].identifier]
    assert row["status"] == "done" and row["checksum"] == geotiff.checksum(good) and int(row["file_size"]) == len(good)
    assert row["requeued"] == "0" and row["node"] == "node-a"


def test_requeued_chips_carry_their_count_to_their_row(tmp_path):
    from geetiles.download.messages import ChipResult

    manifest = Manifest(tmp_path)
    summary = DownloadSummary("d", tmp_path, 2, 0, 0, 0, 0, 0, 0.0)
    ledger = Ledger(manifest, summary, Progress(2, "none", "d"), "req")
    jobs = [_chip_job(tmp_path, i) for i in range(2)]
    ledger.requeue(jobs[:1])
    ledger.requeue(jobs[:1])
    for job in jobs:
        open(job.path, "wb").write(b"x")
    ledger.add(jobs, [ChipResult(job.identifier, "done", 1, 0, 1, "c", "", None) for job in jobs], True)
    manifest.finalize()
    rows = {row["identifier"]: row for row in manifest_rows(tmp_path)}
    assert (rows[jobs[0].identifier]["requeued"], rows[jobs[1].identifier]["requeued"]) == ("2", "0")
    assert summary.requeued == 2 and "2 requeued" in summary.line()


@pytest.mark.slow
def test_a_replacement_that_cannot_be_placed_leaves_its_slot_empty_and_the_others_finish(
    tmp_path,
    fake_ee,  # noqa: F811
    ray_session,
    monkeypatch,
    caplog,
):
    """Every replacement asked for a node Ray cannot schedule on (as if its node just vanished): after
    workforce.REPLACE_TRIES tries the slot stays empty, its share unused, and the live worker finishes."""
    from geetiles.download import workforce

    caplog.set_level(logging.INFO, logger="geetiles.download")
    monkeypatch.setattr(workforce, "RETRY_DELAYS_S", (0.0, 0.1, 0.1, 0.1, 0.1))
    monkeypatch.setattr(workforce.Workforce, "_choose_node", lambda self, avoid: "ab" * 28)  # no such node
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.1, 49.66))
    credentials = credentials_file(tmp_path, fake_ee)
    fake_ee.latency_s = 0.1
    directory = dataset_dir(tiles)
    when_files(directory, 10, lambda: os.kill(download_workers()[0], signal.SIGKILL))
    download(tiles, fake_ee, credentials, "download.max_in_flight=4", "download.batch_size=4")
    assert_every_chip_once(tiles, directory, check_pixels=False)
    messages = [r.getMessage() for r in caplog.records]
    assert any("5 replacements failed in a row" in m and "stays unused" in m for m in messages), messages
    assert fake_ee.max_in_flight <= 4


@pytest.mark.slow
def test_no_node_left_for_a_replacement_ends_the_run_in_one_line(tmp_path, fake_ee, ray_session, monkeypatch):  # noqa: F811
    from geetiles.download import workforce
    from geetiles.errors import RunFailed

    monkeypatch.setattr(workforce.Workforce, "_choose_node", lambda self, avoid: None)
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.1, 49.66))
    credentials = credentials_file(tmp_path, fake_ee)
    fake_ee.latency_s = 0.1
    directory = dataset_dir(tiles)
    when_files(directory, 10, lambda: os.kill(download_workers()[0], signal.SIGKILL))
    with pytest.raises(RunFailed) as failed:
        download(tiles, fake_ee, credentials, "download.max_in_flight=4", "download.batch_size=4")
    line = str(failed.value)
    assert (
        "\n" not in line and "no Ray node is left to run a replacement on" in line and "rerun the same command" in line
    )
    kept = {r["identifier"] for r in manifest_rows(directory) if r["status"] == "done"}
    assert kept and kept == {p.stem for p in directory.glob("*.tif")}
