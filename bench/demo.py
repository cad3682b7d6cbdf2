"""Demo-source benchmark: chips/s of 100x100 RGB end to end through the download engine.

    python bench/demo.py

Runs ``python -m geetiles`` with the demo imagery over a bbox of about 2,900 and 11,000 chips (no
labels), in a child process as a user would, and reports the run's own summary (which includes
process start and Ray start/stop) plus the steady rate derived from the two sizes.
Figure to reach (issue 4): >= 500 chips/s (the demo must never be the bottleneck of a dry run).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
CASES = {"2.9k chips": "[5.9,49.5,6.5,50.1]", "11k chips": "[5.9,49.5,7.1,50.7]"}


def run(bbox: str) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "geetiles",
                "source=demo",
                "labels=none",
                "aoi=bbox",
                f"aoi.bbox={bbox}",
                "aoi.name=bench",
                f"data_dir={folder}",
                f"hydra.run.dir={folder}/run",
                "download.progress=none",
            ],
            capture_output=True,
            text=True,
            env=ENV,
            check=True,
            cwd=folder,
        )
        elapsed = time.monotonic() - started
    summary = re.search(r"demo-imagery: (\d+) done.*?, ([\d.]+) s, ([\d.]+) tiles/s", result.stdout + result.stderr)
    chips, download_s, rate = int(summary.group(1)), float(summary.group(2)), float(summary.group(3))
    print(
        f"{chips} chips: whole process {elapsed:.1f} s; download stage {download_s:.1f} s = {rate:.0f} chips/s "
        f"(Ray start/stop included)",
        flush=True,
    )
    return chips, download_s


def main() -> None:
    (small, small_s), (large, large_s) = (run(bbox) for bbox in CASES.values())
    print(f"steady rate from the two sizes: {(large - small) / (large_s - small_s):.0f} chips/s [target >= 500]")


if __name__ == "__main__":
    main()
