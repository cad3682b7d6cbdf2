"""The test suite's time on this machine (issue 23: the whole suite within 3 minutes, the fast set within
60 s, on 2 cores): each run's wall seconds and the machine's busy and idle CPU seconds.

    python bench/suite.py                     # the README's command, python -m pytest -q, once
    python bench/suite.py --fast --runs 3     # the inner loop's -m "not slow", three times
    python bench/suite.py -- -n 2             # extra pytest arguments after --, e.g. a worker count

Busy and idle come from /proc/stat (every process on the machine, Ray's daemons and the kernel's disk
threads included): idle CPU seconds during a run are cores the scheduling left unused
(``tests/scheduling.py``); busy seconds over the cores are the least wall time any scheduling could
reach. Run it on a quiet machine: another load shows up in both.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


def cpu_jiffies() -> tuple[int, int]:
    """(busy, idle) clock ticks of the whole machine since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, _steal = fields
    return user + nice + system + irq + softirq, idle + iowait


def run_once(arguments: list[str]) -> dict:
    ticks = os.sysconf("SC_CLK_TCK")
    busy0, idle0 = cpu_jiffies()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *arguments],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - started
    busy1, idle1 = cpu_jiffies()
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-300:]
    return {
        "s": seconds,
        "busy": (busy1 - busy0) / ticks,
        "idle": (idle1 - idle0) / ticks,
        "code": result.returncode,
        "summary": last,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help='the inner loop: -m "not slow"')
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    options = parser.parse_args()
    arguments = (["-m", "not slow"] if options.fast else []) + options.pytest_args
    cores = len(os.sched_getaffinity(0))
    print(f"python -m pytest -q {' '.join(arguments)}: {cores} cores, load {os.getloadavg()[0]:.1f} at the start")
    failed = False
    for index in range(options.runs):
        row = run_once(arguments)
        failed |= row["code"] != 0
        print(
            f"run {index + 1}: {row['s']:6.1f} s  busy {row['busy']:6.1f} CPU-s  idle {row['idle']:5.1f} CPU-s  "
            f"(busy / cores {row['busy'] / cores:5.1f} s)  {row['summary']}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
