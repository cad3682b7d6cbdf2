"""Runs in their own processes: a download killed mid-run and resumed; a two-node Ray cluster."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import rasterio

from geetiles.cli.geet import main as geet
from geetiles.download.grids import plan_grids
from geetiles.tiles import load_tiles
from tests.conftest import RAY_ENV
from tests.download.helpers import assert_chip_matches_server, credentials_file, dataset_dir, make_tiles
from tests.download.ray_processes import head_folder, local_head
from tests.fake_ee.fixtures import fake_ee  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def geet_download(tiles, server, credentials, *extra):
    return [
        sys.executable,
        "-m",
        "geetiles.cli.geet",
        "download",
        "--tiles_file",
        str(tiles),
        "--dataset_def",
        "sentinel2-rgb-median-2020",
        "--pixels_lonlat",
        "[50,50]",
        "--skip_confirm",
        "--ee_url",
        server.url,
        "--ee_credentials",
        str(credentials),
        *extra,
    ]


@pytest.mark.long
@pytest.mark.slow  # starts a process
def test_killed_mid_run_then_resumed_completes_without_corrupt_files(tmp_path, fake_ee, ray_session):  # noqa: F811
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.15, 49.7))
    credentials = credentials_file(tmp_path, fake_ee)
    fake_ee.latency_s = 0.2
    directory = dataset_dir(tiles)
    env = {**os.environ, **RAY_ENV}
    process = subprocess.Popen(
        geet_download(tiles, fake_ee, credentials, "--n_processes", "4"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(list(directory.glob("*.tif"))) < 10:
        time.sleep(0.05)
    folder = head_folder(local_head(process.pid))
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its Ray, at once, mid-write
    process.wait()
    survivors = _settled_files(directory)  # Ray's workers (another process group) die a moment later
    gone_by = time.monotonic() + 30
    while folder.exists() and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not folder.exists()  # the orphaned head removed its folder in /tmp
    chips = load_tiles(tiles)
    assert 10 <= len(survivors) < len(chips)

    assert fake_ee.max_in_flight <= 4  # the cap held while the driver bridged Ray's start-up, and after
    fake_ee.latency_s = 0.0
    fake_ee.reset_counters()
    try:  # the same command, in-process on the session's Ray: only the killed run needs a process of its own
        geet(geet_download(tiles, fake_ee, credentials, "--skip_if_exists")[3:])
    except SystemExit as exit:
        assert not exit.code, exit.code
    for identifier in chips["identifier"]:
        assert_chip_matches_server(directory / f"{identifier}.tif")
    assert not list(directory.glob(".*tmp*"))
    grids = dict(zip(chips["identifier"], plan_grids(chips, [50, 50], None)))
    asked_again = {
        i for i, g in grids.items() if fake_ee.calls_by_grid[(g.crs, g.transform[2], g.transform[5], g.width, g.height)]
    }
    assert asked_again == set(chips["identifier"]) - survivors  # no valid chip was requested twice


def _settled_files(directory, quiet_s: float = 3.0, limit_s: float = 30.0) -> set[str]:
    """Chip files once nothing has been added for ``quiet_s`` seconds."""
    files, changed, started = set(), time.monotonic(), time.monotonic()
    while time.monotonic() - changed < quiet_s and time.monotonic() - started < limit_s:
        current = {p.stem for p in directory.glob("*.tif")}
        if current != files:
            files, changed = current, time.monotonic()
        time.sleep(0.1)
    return files


@pytest.mark.long
@pytest.mark.slow  # starts a process
def test_two_node_cluster(tmp_path, fake_ee):  # noqa: F811
    tiles = make_tiles(tmp_path)
    credentials = credentials_file(tmp_path, fake_ee)
    script = textwrap.dedent(f"""
        import csv, sys
        from ray.cluster_utils import Cluster
        cluster = Cluster(initialize_head=True, head_node_args={{"num_cpus": 1, "include_dashboard": False}})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        from geetiles.cli.geet import main
        try:
            main(["download", "--tiles_file", {str(tiles)!r}, "--dataset_def", "sentinel2-rgb-median-2020",
                  "--pixels_lonlat", "[40,40]", "--skip_confirm", "--ee_url", {fake_ee.url!r},
                  "--ray_address", cluster.address, "--ee_credentials", {str(credentials)!r}])
        except SystemExit as exit:
            if exit.code:
                raise
        import ray
        ray.init(address=cluster.address)
        print("NODES", len([n for n in ray.nodes() if n["Alive"]]))
        ray.shutdown()
        cluster.shutdown()
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **RAY_ENV},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "NODES 2" in result.stdout
    import csv

    with open(dataset_dir(tiles) / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["status"] for r in rows} == {"done"} and len(rows) == len(load_tiles(tiles))
    assert len({r["node"] for r in rows}) == 2, result.stderr[-2000:]  # workers on both nodes wrote chips
    for row in rows:
        with rasterio.open(dataset_dir(tiles) / f"{row['identifier']}.tif") as chip:
            assert chip.crs.to_epsg() == 4326
