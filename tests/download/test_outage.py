"""The Earth Engine endpoint refusing connections mid-run (the fake server's listening socket closed,
its open connections reset, then reopened on the same port): an outage, not the chips' failure.
Times are scaled down (a 2.5 s outage against 3 attempts with 10-50 ms backoffs); bench/outage.py runs
the 60 s one under the default settings."""

from __future__ import annotations

import logging
import re
import threading
import time

import pytest

from geetiles.errors import RunFailed
from geetiles.tiles import load_tiles
from tests.download.faults import (
    JournalSpy,
    assert_every_chip_once,
    manifest_rows,
    max_in_any_window,
    rate_bound,
    when_files,
)
from tests.download.helpers import credentials_file, dataset_dir, download, make_tiles
from tests.fake_ee.fixtures import fake_ee  # noqa: F401

IN_FLIGHT, RATE = 6, 40
OUTAGE_S = 2.5
SINCE = re.compile(r"endpoint unreachable since \d\d:\d\d:\d\d")


@pytest.fixture
def setup(tmp_path, fake_ee, ray_session):  # noqa: F811
    return tmp_path, fake_ee, credentials_file(tmp_path, fake_ee)


@pytest.mark.long
@pytest.mark.slow
def test_an_outage_far_longer_than_the_retries_would_survive_is_waited_out(setup, monkeypatch, caplog):
    folder, server, credentials = setup
    caplog.set_level(logging.INFO, logger="geetiles.download")
    tiles = make_tiles(folder, (6.0, 49.6, 6.1, 49.68))
    server.latency_s = 0.05
    spy = JournalSpy(monkeypatch)
    outage: list[float] = []

    def pause_for_a_while() -> None:  # 2.5 s: ten times what the retries survive; probes at 0, 1, 3 s
        server.pause()
        outage.append(time.monotonic())
        threading.Timer(OUTAGE_S, lambda: (server.resume(), outage.append(time.monotonic()))).start()

    directory = dataset_dir(tiles)
    when_files(directory, 15, pause_for_a_while)
    # 3 attempts with 10-50 ms backoffs last well under a second: without the breaker every chip in
    # flight would fail within the outage's first second
    download(
        tiles,
        server,
        credentials,
        "download.max_attempts=3",
        f"download.max_in_flight={IN_FLIGHT}",
        f"download.max_requests_per_s={RATE}",
        "download.batch_size=4",
        "download.progress=log",
    )
    assert len(outage) == 2 and outage[1] - outage[0] >= OUTAGE_S  # the run outlasted the outage

    rows = assert_every_chip_once(tiles, directory)
    assert spy.duplicates() == []
    assert all(int(r["attempts"]) <= 3 + 8 for r in rows)  # a few probes each at most, never counted as failures
    messages = [r.getMessage() for r in caplog.records]
    assert any(SINCE.search(m) for m in messages), messages  # the progress said so, with the time
    assert any("endpoint reachable again" in m for m in messages)
    assert server.max_in_flight <= IN_FLIGHT
    assert max_in_any_window(server.request_times) <= rate_bound(RATE)


@pytest.mark.long
@pytest.mark.slow
def test_an_outage_that_outlasts_the_stall_timeout_ends_the_run_cleanly_and_a_rerun_completes(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.1, 49.68))
    server.latency_s = 0.05
    directory = dataset_dir(tiles)
    when_files(directory, 10, server.pause)
    started = time.monotonic()
    with pytest.raises(RunFailed) as failed:
        download(
            tiles,
            server,
            credentials,
            "download.stall_timeout_s=3",
            f"download.max_in_flight={IN_FLIGHT}",
            "download.batch_size=4",
        )
    assert time.monotonic() - started < 30
    line = str(failed.value)
    assert "\n" not in line and line.startswith("no chip finished for") and "download.stall_timeout_s=3" in line
    assert SINCE.search(line) and "finished chips are kept, rerun the same command to resume" in line
    kept = {r["identifier"] for r in manifest_rows(directory) if r["status"] == "done"}
    assert kept == {p.stem for p in directory.glob("*.tif")} and len(kept) >= 10  # every file on disk journaled
    assert not [r for r in manifest_rows(directory) if r["status"] == "failed"]  # the outage failed no chip

    server.resume()
    server.reset_counters()
    download(tiles, server, credentials)
    assert_every_chip_once(tiles, directory, check_pixels=False)
    assert server.compute_pixels_calls == 1 + len(load_tiles(tiles)) - len(kept)  # the probe, and only what was missing
