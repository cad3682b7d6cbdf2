"""Download-engine benchmark against the fake Earth Engine server (tests/fake_ee), on loopback.

    python bench/download.py                      # the issue's cases (a few minutes)
    python bench/download.py --case steady        # one case

The server runs in its own process (its CPU is not the client's). Each case runs ``geet download``
as a user would, in a child process, and reads timings from the server's request log:
- fixed cost = (first chip request - process start) + (process exit - last chip answer);
- steady rate = chips answered between the 30 % and 90 % marks / that time span (after the driver
  has handed over to Ray's workers); the 10-90 % rate, start-up transient included, is shown too;
- client CPU = user + system CPU of the geetiles process and all its Ray workers, per chip.
Figures to reach (issue 3): >= 190 chips/s at 200 ms latency with 40 in flight; fixed cost <= 6 s;
a 2774-chip run <= 21 s; <= 1 ms client CPU per chip at 0 ms latency; 100 % delivered with 30 %
injected errors; peak memory flat in the number of chips.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import fake_server  # noqa: E402
from bench.fake_server import server_stats  # noqa: E402
from tests.fake_ee.helpers import RGB_EXPRESSION  # noqa: E402

ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


SERVER_SEED = [0]  # --server-seed: which interleaving of injected errors the fake server draws


def start_server(latency: float, error_rate: float) -> tuple[subprocess.Popen, str]:
    return fake_server.start_server(latency, error_rate, SERVER_SEED[0], env=ENV)


def make_tiles(folder: Path, bbox: str, chip_m: int) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "geetiles",
            "aoi=bbox",
            f"aoi.bbox={bbox}",
            "aoi.name=bench",
            f"tiling.chip_size_m={chip_m}",
            f"data_dir={folder}",
            "stages=[aoi,tiling]",
            f"hydra.run.dir={folder}/run",
        ],
        check=True,
        cwd=folder,
        env=ENV,
        capture_output=True,
    )
    return next(folder.glob("bench_partitions_*.geojson"))


def run_case(name: str, tiles: Path, latency: float, error_rate: float, extra: list[str]) -> dict:
    server, url = start_server(latency, error_rate)
    try:
        pixels = [] if "--pixels_lonlat" in extra else ["--pixels_lonlat", "[100,100]"]
        command = [
            "geet",
            "download",
            "--tiles_file",
            str(tiles),
            "--dataset_def",
            "sentinel2-rgb-median-2020",
            *pixels,
            "--skip_confirm",
            "--ee_url",
            url,
            "--ee_credentials",
            "none",
            *extra,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started_wall = time.time()
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "geetiles.cli.geet", *command[1:]],
            cwd=tiles.parent,
            env=ENV,
            capture_output=True,
            text=True,
        )
        ended = time.monotonic()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        stats = server_stats(url)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
    summary = [line for line in result.stderr.splitlines() if " done, " in line]
    times = sorted(stats["answer_times_wall"])
    chips = len(times)

    def rate(first: float, last: float) -> float:
        lo, hi = times[int(chips * first)], times[int(chips * last) - 1]
        return (int(chips * last) - int(chips * first)) / (hi - lo) if hi > lo else float("nan")

    rate_10_90 = rate(0.1, 0.9)  # includes the start-up transient (driver bridging Ray's start)
    steady = rate(0.3, 0.9)  # after the hand-over to Ray's workers
    arrivals = sorted(stats["arrival_times_wall"])
    probe = arrivals[0] - started_wall
    first_chip = arrivals[1] - started_wall if len(arrivals) > 1 else float("nan")
    tail = (started_wall + (ended - started)) - times[-1]
    fixed = (ended - started) - chips / steady
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "case": name,
        "exit": result.returncode,
        "chips_answered": chips,
        "elapsed_s": round(ended - started, 2),
        "steady_chips_per_s": round(steady, 1),
        "rate_10_90_chips_per_s": round(rate_10_90, 1),
        "start_to_probe_s": round(probe, 2),
        "start_to_first_chip_request_s": round(first_chip, 2),
        "last_answer_to_exit_s": round(tail, 2),
        "fixed_cost_s": round(fixed, 2),
        "client_cpu_s": round(cpu, 2),
        "client_cpu_ms_per_chip": round(1000 * cpu / max(1, chips), 3),
        "peak_rss_mib_largest_child": round(after.ru_maxrss / 1024),
        "errors_injected": stats["errors_injected"],
        "summary": summary[-1].split(" - ")[-1] if summary else result.stderr.strip().splitlines()[-1:],
        "answers_per_second": _per_second(times, started_wall),
    }


def _per_second(times: list[float], started_wall: float) -> list[int]:
    """Chips answered in each second since the process started: where start-up and hand-over cost."""
    counts = [0] * (int(times[-1] - started_wall) + 1 if times else 0)
    for t in times:
        counts[int(t - started_wall)] += 1
    return counts


CASES = {
    # name: (bbox, chip metres, latency s, error rate, extra geet options)
    "steady": ("5.9,49.5,6.5,50.1", 1000, 0.2, 0.0, ["--max_requests_per_s", "1000"]),
    "luxembourg": (None, 1000, 0.2, 0.0, ["--max_requests_per_s", "1000"]),
    "default-quota": ("5.9,49.5,6.5,50.1", 1000, 0.2, 0.0, []),
    "cpu": ("5.9,49.5,6.5,50.1", 1000, 0.0, 0.0, ["--max_requests_per_s", "100000"]),
    "cpu-1000": ("5.9,49.5,6.5,50.1", 1000, 0.0, 0.0, ["--max_requests_per_s", "100000", "--max_downloads", "1000"]),
    "mem-3k": ("5.9,49.5,6.5,50.1", 1000, 0.0, 0.0, ["--max_requests_per_s", "100000", "--pixels_lonlat", "[10,10]"]),
    "mem-30k": ("5.9,49.5,7.8,51.3", 1000, 0.0, 0.0, ["--max_requests_per_s", "100000", "--pixels_lonlat", "[10,10]"]),
    "errors30": ("5.9,49.5,6.2,49.8", 1000, 0.05, 0.3, ["--max_requests_per_s", "1000"]),
}


def worker_cpu(chips: int = 3000) -> dict:
    """Client CPU per chip of the worker's code path alone (request, decode, GeoTIFF, atomic write):
    one DownloadWorker in this process, the server in another, 0 ms latency, process CPU time."""
    import asyncio

    from geetiles.download.messages import ChipJob
    from geetiles.download.worker import DownloadWorker
    from geetiles.fetching.grid import PixelGrid
    from geetiles.fetching.pacing import RetryPolicy
    from geetiles.sources.ee_rest import Endpoint

    server, url = start_server(0.0, 0.0)
    expression = json.dumps(RGB_EXPRESSION)
    try:
        with tempfile.TemporaryDirectory() as folder:
            endpoint = Endpoint(url, "bench", expression, 40, 1e6, RetryPolicy(), 60, 50_331_648, 32768, [1, 1, 1])
            jobs = [
                ChipJob(
                    f"{i:013x}",
                    PixelGrid("EPSG:4326", (1e-4, 0, 6 + (i % 50) * 0.01, 0, -1e-4, 50 - (i // 50) * 0.01), 100, 100),
                    f"{folder}/{i:013x}.tif",
                    None,
                )
                for i in range(chips)
            ]

            async def run():
                worker = DownloadWorker()
                worker.configure(endpoint, 0, True)
                await worker.run_batch(jobs[:200], {})  # warm-up: connections, imports
                started_cpu, started = time.process_time(), time.monotonic()
                for i in range(200, chips, 400):
                    results = await worker.run_batch(jobs[i : i + 400], {})
                    assert all(r.status == "done" for r in results)
                cpu, wall = time.process_time() - started_cpu, time.monotonic() - started
                await worker.close()
                return cpu, wall

            cpu, wall = asyncio.run(run())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
    measured = chips - 200
    return {
        "case": "worker-cpu",
        "chips": measured,
        "client_cpu_ms_per_chip": round(1000 * cpu / measured, 3),
        "chips_per_s_one_worker": round(measured / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(CASES) + ["worker-cpu"], action="append")
    parser.add_argument("--server-seed", type=int, default=0, help="seed of the fake server's injected errors")
    args = parser.parse_args()
    SERVER_SEED[0] = args.server_seed
    for name in args.case or [*CASES, "worker-cpu"]:
        if name == "worker-cpu":
            print(json.dumps(worker_cpu()), flush=True)
            continue
        bbox, chip_m, latency, error_rate, extra = CASES[name]
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            if bbox is None:
                wkt = ROOT.parent / "shared" / "data" / "luxembourg.wkt"
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "geetiles.cli.geet",
                        "grid",
                        "--aoi_wkt_file",
                        str(wkt),
                        "--chip_size_meters",
                        str(chip_m),
                        "--aoi_name",
                        "bench",
                        "--dest_dir",
                        str(folder),
                    ],
                    check=True,
                    env=ENV,
                    capture_output=True,
                )
                tiles = next(folder.glob("bench_partitions_*.geojson"))
            else:
                tiles = make_tiles(folder, f"[{bbox}]", chip_m)
            print(json.dumps(run_case(name, tiles, latency, error_rate, extra)), flush=True)


if __name__ == "__main__":
    main()
