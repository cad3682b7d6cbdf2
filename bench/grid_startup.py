"""Start-up benchmark: ``geet grid`` on Luxembourg at 1000 m, the whole process, as a user runs it.

    python bench/grid_startup.py          # 10 runs
    python bench/grid_startup.py -n 20    # more runs
    python bench/grid_startup.py --geet /path/to/geet   # another installation's entry point

Each run is ``geet grid --aoi_wkt_file ../shared/data/luxembourg.wkt --chip_size_meters 1000
--aoi_name lux --dest_dir <fresh tmp dir>`` in a child process (interpreter start, imports, config,
2774 chips, GeoJSON + GeoParquet twin + record, exit), timed from spawn to exit. One untimed run
first warms the file cache (and geet's composed-config cache). Prints median, min and max wall time,
and the median CPU time (user + system) of the child, which a busy shared machine inflates less.
Figure to reach: median <= 1.2 s on 2 cores (geetiles 0.1.7 takes 17-20 s; this was ~2.0 s before
the start-up work).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LUXEMBOURG = Path(__file__).resolve().parents[2] / "shared" / "data" / "luxembourg.wkt"
TARGET_S = 1.2
EXPECTED = "lux_partitions_aschips_14c55eb7d417f.geojson"


def default_geet() -> list[str]:
    """The ``geet`` console script beside this interpreter (as installed), else ``python -m``."""
    script = Path(sys.executable).with_name("geet")
    return [str(script)] if script.exists() else [sys.executable, "-m", "geetiles.cli.geet"]


def one_run(geet: list[str], wkt: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one ``geet grid``."""
    folder = tempfile.mkdtemp(prefix="geet-grid-")
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(
            [
                *geet,
                "grid",
                "--aoi_wkt_file",
                str(wkt),
                "--chip_size_meters",
                "1000",
                "--aoi_name",
                "lux",
                "--dest_dir",
                folder,
            ],
            capture_output=True,
            text=True,
            cwd=folder,
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0 or not (Path(folder) / EXPECTED).exists():
            raise SystemExit(f"geet grid failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
        return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=10, help="timed runs (default 10)")
    parser.add_argument("--geet", help="geet executable to time (default: the one installed beside this python)")
    parser.add_argument("--wkt", type=Path, default=LUXEMBOURG, help="AOI WKT (default ../shared/data/luxembourg.wkt)")
    args = parser.parse_args()
    if not args.wkt.is_file():
        raise SystemExit(f"{args.wkt} not found; pass --wkt")
    geet = [args.geet] if args.geet else default_geet()
    one_run(geet, args.wkt)  # warm the file cache (bytecode, shared libraries, PROJ database)
    runs = [one_run(geet, args.wkt) for _ in range(args.runs)]
    times = [wall for wall, _ in runs]
    median = statistics.median(times)
    print(
        f"geet grid, Luxembourg 1000 m, {args.runs} runs on {os.cpu_count()} CPUs: "
        f"median {median:.2f} s, min {min(times):.2f} s, max {max(times):.2f} s "
        f"(target <= {TARGET_S} s: {'met' if median <= TARGET_S else 'NOT met'}); "
        f"CPU median {statistics.median(cpu for _, cpu in runs):.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print("runs: " + " ".join(f"{t:.2f}" for t in times))


if __name__ == "__main__":
    main()
