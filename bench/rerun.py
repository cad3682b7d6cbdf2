"""A download rerun over finished chips, whole process, on this machine:

    python bench/rerun.py [--runs 5]

The demo experiment's download (Luxembourg, 1000 m chips, synthetic images, no labels) runs once into a
fresh data folder; then ``python -m geetiles experiment=demo stages=[download] labels=none`` runs again
``--runs`` times over the same folder, every chip already valid. Prints each rerun's wall time, their
median, and whether the driver loaded Ray at all (it need not: ``Engine._needs_no_ray``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import RAY_ENV  # noqa: E402

ENV = {**os.environ, **RAY_ENV}
RUN = """
import sys
import geetiles
geetiles.run(sys.argv[1:])
print("RAY_LOADED", "ray" in sys.modules)
"""


def run(folder: Path) -> tuple[float, str]:
    overrides = ["experiment=demo", "stages=[tiling,download]", "labels=none", "download.progress=none"]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", RUN, *overrides, f"data_dir={folder}/data"],
        cwd=folder,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        sys.exit(f"the run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.monotonic() - started, done.stdout.split("RAY_LOADED", 1)[1].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        first, loaded = run(folder)
        print(f"first run (fetches every chip): {first:.2f} s, Ray loaded: {loaded}")
        seconds = []
        for _ in range(args.runs):
            took, loaded = run(folder)
            seconds.append(took)
            print(f"rerun: {took:.2f} s, Ray loaded: {loaded}")
        print(f"median rerun over {args.runs}: {statistics.median(seconds):.2f} s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
