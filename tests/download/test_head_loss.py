"""Ray itself lost mid-run: the local head's whole process group SIGKILLed under a running
``python -m geetiles`` download. Ray's client would block and end the process from C++ after 60 s;
the run must end first, within 30 s, with one line, exit status 1, every finished chip recorded,
and a rerun that fetches only what is missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from geetiles.tiles import load_tiles
from tests.conftest import RAY_ENV
from tests.download.faults import assert_every_chip_once, manifest_rows
from tests.download.helpers import FAST_RETRIES, credentials_file, dataset_dir, download, make_tiles
from tests.download.ray_processes import alive, download_workers, head_folder, local_head
from tests.fake_ee.fixtures import fake_ee  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def geetiles_download(tiles, server, credentials, run_dir, *extra) -> list[str]:
    return [
        sys.executable,
        "-m",
        "geetiles",
        "stages=[download]",
        f"download.tiles_file={tiles}",
        "source=sentinel2",
        "labels=none",
        f"ee.url={server.url}",
        f"ee.credentials={credentials}",
        *FAST_RETRIES,
        f"hydra.run.dir={run_dir}",
        *extra,
    ]


@pytest.mark.long
@pytest.mark.slow
def test_the_local_ray_head_killed_mid_run_ends_it_in_one_line_and_a_rerun_completes(
    tmp_path,
    fake_ee,  # noqa: F811
    ray_session,
):
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.15, 49.75))  # 187 chips: about 19 s at 2 in flight and 200 ms
    credentials = credentials_file(tmp_path, fake_ee)
    fake_ee.latency_s = 0.2
    directory = dataset_dir(tiles)
    process = subprocess.Popen(
        geetiles_download(tiles, fake_ee, credentials, tmp_path / "run1", "download.max_in_flight=2"),
        cwd=ROOT,
        env={**os.environ, **RAY_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        head, files_then, workers = None, None, []
        while time.monotonic() < deadline and process.poll() is None:  # the workers have taken over, chips are coming
            head = head or local_head(process.pid)
            files = len(list(directory.glob("*.tif")))
            if files_then is None and head and (workers := download_workers(process.pid)):
                files_then = files
            if files_then is not None and files >= files_then + 30:
                break
            time.sleep(0.05)
        assert head and process.poll() is None, "the run ended before its Ray head could be killed"
        folder = head_folder(head)
        workers = download_workers(process.pid) or workers  # every worker then, to see each end
        os.killpg(head, signal.SIGKILL)  # the head and every daemon it forked: GCS, raylet, agents
        killed = time.monotonic()
        _, stderr = process.communicate(timeout=60)
        ended = time.monotonic()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 1, stderr[-3000:]
    assert ended - killed < 30
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("geetiles: error:")]
    assert len(errors) == 1 and errors[0] == stderr.strip().splitlines()[-1], stderr[-3000:]
    line = errors[0]
    assert "the local Ray head ended (killed by SIGKILL) mid-run" in line
    assert "are kept in" in line and "rerun the same command to resume" in line
    assert not folder.exists()  # the lost head's folder in /tmp went with it (no message names its logs)

    gone_by = time.monotonic() + 10  # a worker may outlive its raylet for a moment: its last chip lands first
    while any(alive(pid) for pid in workers) and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)
    on_disk = {p.stem for p in directory.glob("*.tif")}
    journaled = {r["identifier"] for r in manifest_rows(directory) if r["status"] == "done"}
    chips = load_tiles(tiles)
    assert 30 <= len(journaled) < len(chips)
    assert on_disk == journaled  # every finished chip recorded, the ones the workers had not reported too

    fake_ee.latency_s = 0.0
    fake_ee.reset_counters()
    download(tiles, fake_ee, credentials)  # the same download, in-process on the session's Ray (raises if it fails)
    assert_every_chip_once(tiles, directory, check_pixels=False)
    assert fake_ee.compute_pixels_calls == 1 + len(chips) - len(journaled)  # no finished chip fetched twice
    assert max(fake_ee.calls_by_grid.values()) == 1


@pytest.mark.long
@pytest.mark.slow
def test_a_cluster_head_whose_gcs_dies_mid_run_ends_it_in_one_line(tmp_path, fake_ee):  # noqa: F811
    """A cluster's head (here: the GCS of a cluster_utils head node, SIGKILLed) stops answering: the
    driver's watch sees its port refuse connections and ends the run within 30 s, before Ray's client
    would end the process from C++ after 60 s with nothing saved."""
    import shutil
    import tempfile

    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.15, 49.7))
    credentials = credentials_file(tmp_path, fake_ee)
    fake_ee.latency_s = 0.2
    ray_tmp = tempfile.mkdtemp(prefix="gtc-", dir="/tmp")
    command = [
        sys.executable,
        "-m",
        "tests.download.cluster_node_loss",
        str(tiles),
        fake_ee.url,
        str(credentials),
        "--remove-after",
        "1000000",
        "--kill-head-after",
        "20",
        "--head-only",
        "--salvage-wait-s",  # its workers outlive the GCS: the salvage would wait its full 5 s for them
        "1",
        "download.max_in_flight=2",
        *FAST_RETRIES,
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **RAY_ENV, "RAY_TMPDIR": ray_tmp},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=150)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever the cluster left behind
        except ProcessLookupError:
            pass
        process.wait()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    killed = [line for line in stdout.splitlines() if "head_killed_at" in line]
    assert killed, (stdout[-2000:], stderr[-3000:])
    import json

    ended = time.time()
    assert process.returncode == 1, stderr[-3000:]
    assert ended - json.loads(killed[0])["head_killed_at"] < 30
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("geetiles: error:")]
    assert len(errors) == 1, stderr[-3000:]
    assert "the Ray cluster's head at 127.0.0.1:" in errors[0] and "refuses connections mid-run" in errors[0]
    directory = dataset_dir(tiles)
    journaled = {r["identifier"] for r in manifest_rows(directory) if r["status"] == "done"}
    assert len(journaled) >= 20 and journaled <= {p.stem for p in directory.glob("*.tif")}
