"""A rerun over finished chips leaves Ray alone. (A run with chips to fetch whose plan is ready before
its local head is up, the other side of the race, is every console download test: their tiles files
are small.)"""

import os
import subprocess
import sys

import pytest

from tests.conftest import DEMO_RUN, RAY_ENV
from tests.download import demo_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the demo download in a fresh process (no Ray yet: the engine launches a local head), then whether
# the driver ever loaded Ray
RERUN = """
import sys
import geetiles
geetiles.run(sys.argv[1:])
print("RAY_LOADED", "ray" in sys.modules)
"""


def rerun(tiles) -> str:
    stages = "stages=[download]", f"download.tiles_file={tiles}", f"data_dir={tiles.parent}", "download.progress=none"
    done = subprocess.run(
        [sys.executable, "-c", RERUN, *DEMO_RUN, *stages],
        cwd=ROOT,
        env={**os.environ, **RAY_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split("RAY_LOADED", 1)[1].strip()


@pytest.mark.slow  # starts a process
def test_a_rerun_over_finished_chips_never_loads_ray(tmp_path, ray_session):
    demo_run.run(None, tmp_path, "tiling")
    (tiles,) = tmp_path.glob("*.geojson")
    demo_run.download(tiles)  # in this process, on the session's Ray
    assert rerun(tiles) == "False"
    for name in demo_run.DATASETS:
        assert demo_run.summary(tiles, name)["done"] == 0 and demo_run.summary(tiles, name)["skipped"] == 16
