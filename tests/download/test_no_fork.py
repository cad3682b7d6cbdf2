"""Issue: downloads hung in Ray's start (a fork in the driver while its own threads rendered chips)
or right after it (OpenBLAS left spinning by that fork). The driver must never fork while it runs."""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import RAY_ENV
from tests.download.helpers import make_tiles

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Runs a demo download in-process and lists every fork() that ran Python's at-fork handlers in this
# process (os.fork, and subprocess with a preexec_fn as Ray uses to start its daemons), with the
# number of threads alive at that moment. A spawn by vfork+exec runs no handler and is not listed.
SCRIPT = textwrap.dedent("""
    import os, subprocess, sys, threading
    forks = []
    os.register_at_fork(before=lambda: forks.append(threading.active_count()))
    from geetiles.cli.app import main
    sys.argv = ["geetiles", *sys.argv[1:]]
    code = 0
    try:
        main()
    except SystemExit as exit:
        code = exit.code
    print("FORKS_DURING_RUN", forks, "EXIT", code)
    subprocess.Popen(["true"], preexec_fn=lambda: None).wait()  # control: such a fork is seen
    print("FORKS_AFTER_CONTROL", len(forks))
""")


def run_demo(tmp_path, tiles, index: int, timeout: float) -> subprocess.CompletedProcess:
    args = [
        "stages=[download]",
        f"download.tiles_file={tiles}",
        "source=none",
        "labels=demo",
        "labels.pixels_lonlat=null",
        "labels.meters_per_pixel=20",
        "download.progress=none",
        f"hydra.run.dir={tmp_path}/run{index}",
    ]
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=ROOT,
        env={**os.environ, **RAY_ENV},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.long
@pytest.mark.slow  # starts a process
def test_the_driver_never_forks_while_ray_starts_and_chips_render(tmp_path):
    # 10 km chips of 500 x 500 pixels: the demo source renders them (matrix products) in the driver
    # while Ray starts, the conditions that used to hang 6 runs in 19. Every fork is listed, so one run
    # under a hard limit shows whether the driver forks; bench/hangs.py repeats the command 200 times.
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.3, 49.9), "tiling.chip_size_m=10000")
    result = run_demo(tmp_path, tiles, 0, timeout=120)
    assert "FORKS_DURING_RUN [] EXIT 0" in result.stdout, result.stdout + result.stderr[-3000:]
    assert "FORKS_AFTER_CONTROL 1" in result.stdout  # the check itself sees a fork with handlers
    folder = tiles.with_suffix("") / "demo-landcover"
    assert len(list(folder.glob("*.tif"))) == 6
