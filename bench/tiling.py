"""Benchmarks for the foundation: tiling speed, memory, linear scaling, and CLI start-up.

    python bench/tiling.py            # everything (a few minutes on 2 cores)
    python bench/tiling.py --quick    # Luxembourg and --help only

Each large case runs in its own child process so that peak memory (ru_maxrss) is its own.
Figures to reach (issue 2): Luxembourg 1000 m grid <= 1 s of compute; 1,000,000 chips <= 30 s and
<= 2 GiB, time linear in chip count; ``python -m geetiles --help`` <= 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LUXEMBOURG = Path(__file__).resolve().parents[2] / "shared" / "data" / "luxembourg.wkt"


def france_mainland():
    """Metropolitan France from the bundled Natural Earth data (its largest polygon): ~550,000 km²."""
    import shapely

    from geetiles.regions.countries import find_region

    _, geometry = find_region("France")
    return max(shapely.get_parts(geometry), key=lambda g: g.area)


def one_case(kind: str, chip_size_m: float, write: bool) -> dict:
    """Run in a child: tile France at ``chip_size_m``; return timings and peak memory."""
    import resource

    from geetiles.tiles import write_tiles
    from geetiles.tiling.grid import grid_chips
    from geetiles.tiling.utm import utm_chips

    aoi = france_mainland()
    make = grid_chips if kind == "grid" else utm_chips
    start = time.perf_counter()
    chips = make(aoi, chip_size_m, max_chips=50_000_000)
    computed = time.perf_counter()
    written = computed
    if write:
        with tempfile.TemporaryDirectory() as folder:
            write_tiles(chips.to_geodataframe(), Path(folder) / "fr_partitions_x_0000000000000.geojson")
            written = time.perf_counter()
    return {
        "kind": kind,
        "chip_size_m": chip_size_m,
        "chips": len(chips),
        "compute_s": round(computed - start, 2),
        "write_s": round(written - computed, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run_child(kind: str, chip_size_m: float, write: bool) -> dict:
    code = f"import json, bench.tiling as b; print(json.dumps(b.one_case({kind!r}, {chip_size_m}, {write})))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_luxembourg(repeats: int = 5) -> None:
    import shapely

    from geetiles.tiling.grid import grid_chips

    if not LUXEMBOURG.exists():
        print(f"skip Luxembourg: {LUXEMBOURG} not found")
        return
    aoi = shapely.from_wkt(LUXEMBOURG.read_text())
    grid_chips(aoi, 1000, 10**7)  # warm-up: pyproj database, imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        chips = grid_chips(aoi, 1000, 10**7)
        times.append(time.perf_counter() - start)
    print(
        f"Luxembourg grid 1000 m: {len(chips)} chips, compute median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}) over {repeats} runs [target <= 1 s]"
    )


def bench_help(repeats: int = 5) -> None:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "geetiles", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    print(
        f"python -m geetiles --help: median {statistics.median(times):.2f} s (min {min(times):.2f}) [target <= 1.5 s]"
    )


def bench_large() -> None:
    print("France mainland, each case in a fresh process (compute = tiling + ids; write = GeoJSON + GeoParquet)")
    print("| tiling | chip m | chips | compute s | write s | total s | peak RSS MiB | µs/chip |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("grid", "utm"):
        for size in (1480, 1050, 742):  # about 250k, 500k, 1M chips
            r = run_child(kind, size, write=True)
            total = r["compute_s"] + r["write_s"]
            print(
                f"| {kind} | {size} | {r['chips']:,} | {r['compute_s']} | {r['write_s']} | {total:.2f} | "
                f"{r['peak_rss_mib']} | {1e6 * total / r['chips']:.1f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the million-chip cases")
    args = parser.parse_args()
    bench_luxembourg()
    bench_help()
    if not args.quick:
        bench_large()


if __name__ == "__main__":
    main()
