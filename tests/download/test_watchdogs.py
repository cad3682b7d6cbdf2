"""Nothing in a download waits forever: a server that stops answering, retries that take long, a
Ray that does not start or a cluster that does not answer each end the run with one line, a
non-zero exit and every finished chip kept; a rerun completes."""

import csv
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from geetiles.cli.compose import compose
from geetiles.errors import RunFailed
from geetiles.experiment import Experiment
from geetiles.runner import run_experiment
from geetiles.tiles import load_tiles
from tests.conftest import RAY_ENV, geetiles_cmd
from tests.download.helpers import credentials_file, dataset_dir, download, make_tiles
from tests.fake_ee.fixtures import fake_ee  # noqa: F401
from tests.in_process import run_in_process

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def setup(tmp_path, fake_ee, ray_session):  # noqa: F811
    return tmp_path, fake_ee, credentials_file(tmp_path, fake_ee)


def done_in_manifest(directory) -> set[str]:
    with open(directory / "manifest.csv") as f:
        return {row["identifier"] for row in csv.DictReader(f) if row["status"] == "done"}


@pytest.mark.long
def test_a_server_that_stops_answering_ends_the_run_and_a_rerun_completes(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    server.silent_after = 1 + 5  # the probe and five chips are answered, then nothing
    started = time.monotonic()
    with pytest.raises(
        RunFailed, match=r"no chip finished for \d+ s \(download.stall_timeout_s=3\).*chips in progress"
    ):
        download(tiles, server, credentials, "download.stall_timeout_s=3", "download.batch_size=4")
    assert time.monotonic() - started < 30
    on_disk = {p.stem for p in dataset_dir(tiles).glob("*.tif")}
    assert len(on_disk) == 5  # every answered chip was written ...
    assert done_in_manifest(dataset_dir(tiles)) == on_disk  # ... and journaled, reported or not when the run stopped

    server.silent_after = None
    server.reset_counters()
    download(tiles, server, credentials)
    chips = load_tiles(tiles)
    assert done_in_manifest(dataset_dir(tiles)) == set(chips["identifier"])
    assert server.compute_pixels_calls == 1 + len(chips) - 5  # the kept chips were not asked again


@pytest.mark.long
def test_a_stall_while_backing_off_says_it_is_waiting_to_retry(setup, caplog):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.02, 49.62))
    caplog.set_level(logging.INFO, logger="geetiles.download")
    server.error_rate, server.errors_after = 1.0, 1  # every answer after the probe's is 429 or 503
    with pytest.raises(RunFailed, match=r"waiting to retry after 'HTTP (429|503)"):
        download(
            tiles,
            server,
            credentials,
            "download.stall_timeout_s=4",
            "download.max_attempts=2",
            "download.backoff_initial_s=20",
            "download.backoff_max_s=20",
            "download.progress=log",
        )
    assert any("waiting:" in r.getMessage() and "waiting to retry" in r.getMessage() for r in caplog.records)


def _run_cli(tmp_path, *args, timeout=120):
    env = {**os.environ, **RAY_ENV}
    return subprocess.run(
        [sys.executable, "-m", "geetiles", *args, f"hydra.run.dir={tmp_path}/run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _run_in_process(tmp_path, *args):
    return run_in_process(geetiles_cmd(*args, f"hydra.run.dir={tmp_path}/run"), tmp_path)


def _rerun_in_process(tiles) -> None:
    """The same demo download again, in this process on the session's Ray (raises if it fails)."""
    run_experiment(Experiment.from_config(compose(_demo_download(tiles)), command="test"))


def _demo_download(tiles, *extra):
    return [
        "stages=[download]",
        f"download.tiles_file={tiles}",
        "source=demo",
        "source.pixels_lonlat=[64,64]",
        "labels=none",
        "download.progress=none",
        *extra,
    ]


@pytest.mark.long
@pytest.mark.slow  # starts a process
def test_a_cluster_address_that_never_answers_ends_the_run_within_the_start_timeout(tmp_path, ray_session):
    tiles = make_tiles(tmp_path)
    with socket.socket() as silent:  # accepts connections (the kernel does) but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = _run_cli(tmp_path, *_demo_download(tiles, f"ray.address=127.0.0.1:{port}", "ray.start_timeout_s=1.5"))
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("geetiles: error: ") and f"127.0.0.1:{port}" in last and "ray.start_timeout_s=1.5" in last
    assert elapsed < 40
    _rerun_in_process(tiles)
    assert len(list(dataset_dir(tiles, "demo-imagery").glob("*.tif"))) == len(load_tiles(tiles))


@pytest.mark.slow  # starts a process
def test_an_address_that_refuses_fails_at_once(tmp_path):
    tiles = make_tiles(tmp_path)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        result = _run_cli(tmp_path, *_demo_download(tiles, f"ray.address=127.0.0.1:{port}"), timeout=60)
    assert result.returncode == 1 and "does not answer" in result.stderr.strip().splitlines()[-1]


@pytest.mark.slow  # starts a process
def test_a_local_ray_that_does_not_start_in_time_keeps_the_chips_fetched_meanwhile(tmp_path, ray_session):
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.15, 49.7))
    result = _run_cli(tmp_path, *_demo_download(tiles, "ray.start_timeout_s=1.5"))
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("geetiles: error: the local Ray did not start within ray.start_timeout_s=1.5 s"), last
    directory = dataset_dir(tiles, "demo-imagery")
    kept = done_in_manifest(directory)
    assert kept == {p.stem for p in directory.glob("*.tif")}  # every chip on disk is journaled, none half-written
    log = re.search(r"(/\S+/geetiles-ray-[^/]+)/head\.log", last)
    assert log and os.path.isfile(log.group(0))  # Ray's logs are kept for the user, and named
    try:
        _rerun_in_process(tiles)
    finally:  # once the stopped head's last daemons are surely gone (they may still write for a moment)
        shutil.rmtree(log.group(1))
    assert done_in_manifest(directory) == set(load_tiles(tiles)["identifier"])


def test_bad_ray_addresses_are_refused_before_anything_runs(tmp_path):
    """In this process: refused before any process or Ray starts (the suite fails a test outside the slow
    set that starts one)."""
    for address in ("localhost", "http://x:1", "ray://", "host:99999"):
        result = _run_in_process(
            tmp_path,
            "stages=[aoi,tiling,download]",
            "aoi=bbox",
            "aoi.bbox=[6,49.6,6.1,49.7]",
            "aoi.name=t",
            f"data_dir={tmp_path}",
            "source=demo",
            "labels=none",
            f"ray.address={address}",
        )
        assert result.returncode == 2, (address, result.stderr[-1000:])
        assert result.stderr.strip().splitlines()[-1].startswith("geetiles: error: ray.address=")
        assert not list(tmp_path.glob("t_partitions_*"))  # refused before the tiling
