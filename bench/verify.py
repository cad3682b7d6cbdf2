"""Speed of ``geet verify`` (``geetiles.verify.verify_dataset``) on an exported dataset.

    python -m geetiles experiment=demo export=all      # in a scratch folder: Luxembourg, 2506 chips
    python bench/verify.py outputs/data/lux_partitions_aschips_<hash>_dataset [--repeats 5]

For each worker setting (the default, one process, two processes) the dataset is verified --repeats
times (after one pass that brings its files into the page cache); printed: the median wall time and
chips/s, and for one process the median CPU time (``time.process_time``, which other work on a shared
machine inflates far less than the wall time), with the load average before and after, so a figure
taken on a busy machine says so. Every pass must find no problem.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def passes(path: str, workers: int | None, repeats: int) -> tuple[list[float], list[float], int]:
    from geetiles.verify import verify_dataset

    walls, cpus, chips = [], [], 0
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        report = verify_dataset(path, workers=workers)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        if not report.ok:
            raise SystemExit(f"the dataset has problems: {report.lines()[:5]}")
        chips = report.chips
    return walls, cpus, chips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="an exported dataset folder (or its zip)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    passes(args.dataset, 1, 1)  # the page cache, and the imports
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for label, workers in (("default", None), ("1 process", 1), ("2 processes", 2)):
        walls, cpus, chips = passes(args.dataset, workers, args.repeats)
        wall = statistics.median(walls)
        line = (
            f"{label:12s} {chips} chips: wall {wall:.2f} s median ({min(walls):.2f}–{max(walls):.2f}), "
            f"{chips / wall:,.0f} chips/s (best {chips / min(walls):,.0f})"
        )
        if workers == 1:
            cpu = statistics.median(cpus)
            line += f"; CPU {cpu:.2f} s, {chips / cpu:,.0f} chips per CPU second"
        print(line, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
